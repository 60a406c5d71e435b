import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Snapshot, SnapshotStore } from "@koine/bus";
import type { Logger } from "@koine/log";
import { ErrorCode, KoineError } from "@koine/protocol";
import { open, type RootDatabase } from "lmdb";
import { reportSnapshot } from "./metrics.ts";
import { journalPositionOf } from "./namespace.ts";

/** How many snapshots are kept: the journal is kept from the oldest of them on. */
export const SNAPSHOTS_KEPT = 2;
/** How often the leader looks whether a snapshot is due. */
const SNAPSHOT_CHECK_MS = 1_000;

/**
 * Takes a snapshot of the LMDB `db` (in `dataDir`): a compacted copy made
 * in one read transaction, so it holds exactly the journal up to the
 * position stored in it; stored in `store`. None when nothing was applied yet.
 */
export async function takeSnapshot(db: RootDatabase, dataDir: string, store: SnapshotStore): Promise<Snapshot | undefined> {
  const dir = await mkdtemp(join(dataDir, "snapshot-"));
  try {
    await db.backup(dir, true);
    const copy = open({ path: dir, readOnly: true });
    const position = journalPositionOf(copy);
    await copy.close();
    return position && (await store.put(join(dir, "data.mdb"), position));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Puts the latest snapshot in place of the (closed) LMDB in `dataDir`; which it was. */
export async function installSnapshot(dataDir: string, store: SnapshotStore, shard = 0): Promise<Snapshot> {
  const latest = (await store.list()).at(-1);
  if (!latest) throw new KoineError(ErrorCode.Unavailable, "The journal was trimmed and there is no snapshot to start from");
  await store.fetch(latest, join(dataDir, "data.mdb"));
  // Its reader table was of the file replaced.
  await rm(join(dataDir, "lock.mdb"), { force: true });
  reportSnapshot(shard, latest);
  return latest;
}

export interface SnapshotterOptions {
  /** The shard of the namespace whose snapshots these are. */
  shard: number;
  db: RootDatabase;
  dataDir: string;
  store: SnapshotStore;
  /** Journal records between snapshots. */
  everyRecords: number;
  /** Where the journal stands applied in this LMDB (its record's sequence). */
  appliedSeq: () => number;
  /** The sequences still needed by the replicas there are (each reads on from its own; 0: one that starts from a snapshot). */
  neededSeqs: () => number[];
  /** Drops the journal's records before `seq`. */
  trim: (before: number) => Promise<number>;
  log: Logger;
}

/**
 * The leader's snapshots: once `everyRecords` journal records were applied
 * since the last one, takes a snapshot, keeps the newest
 * {@link SNAPSHOTS_KEPT} and trims the journal behind the oldest of them
 * (but not past what a replica there has yet to read).
 */
export class Snapshotter {
  readonly #options: SnapshotterOptions;
  readonly #timer: NodeJS.Timeout;
  #lastSeq: number | undefined;
  #running: Promise<void> | undefined;

  constructor(options: SnapshotterOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.#check(), SNAPSHOT_CHECK_MS);
  }

  async #check(): Promise<void> {
    if (this.#running) return;
    this.#running = this.#snapshotIfDue();
    await this.#running;
    this.#running = undefined;
  }

  async #snapshotIfDue(): Promise<void> {
    try {
      if (this.#lastSeq === undefined) {
        const latest = (await this.#options.store.list()).at(-1);
        if (latest) reportSnapshot(this.#options.shard, latest);
        this.#lastSeq = latest?.seq ?? 0;
      }
      if (this.#options.appliedSeq() - this.#lastSeq >= this.#options.everyRecords) await this.snapshot();
    } catch (err) {
      this.#options.log.warn({ err }, "cannot take a snapshot of the namespace");
    }
  }

  /** Takes a snapshot now, then trims the journal behind the snapshots kept. */
  async snapshot(): Promise<Snapshot | undefined> {
    const { db, dataDir, store, log } = this.#options;
    const started = performance.now();
    const taken = await takeSnapshot(db, dataDir, store);
    if (!taken) return undefined;
    this.#lastSeq = taken.seq;
    reportSnapshot(this.#options.shard, taken);
    const all = await store.list();
    for (const old of all.slice(0, -SNAPSHOTS_KEPT)) await store.remove(old);
    const kept = all.slice(-SNAPSHOTS_KEPT);
    const needed = this.#options.neededSeqs().filter((seq) => seq > 0);
    const before = Math.min(kept[0]?.seq ?? taken.seq, ...needed);
    const trimmed = before > 1 ? await this.#options.trim(before) : 0;
    log.info(
      { seq: taken.seq, bytes: taken.bytes, ms: Math.round(performance.now() - started), trimmedBefore: before, trimmed },
      "took a snapshot of the namespace",
    );
    return taken;
  }

  /** Stops looking (a snapshot under way ends first). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
