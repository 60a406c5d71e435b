import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { type ObjectInfo, type ObjectStore, Objm, StorageType } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { clusterReplicas, whenJetStreamReady } from "./kv.ts";

/**
 * The chunks a snapshot is stored in: large, for speed (a NATS message
 * each), with room under the server's 1 MiB message limit for headers.
 */
const CHUNK_BYTES = 1024 * 1024 - 4096;

/** A copy of a state that a journal's records were applied to: the last record and entry it holds. */
export interface Snapshot {
  name: string;
  seq: number;
  index: number;
  bytes: number;
  takenMs: number;
}

/**
 * Snapshots of a state kept by applying a journal, as files in a JetStream
 * object store (replicated as the cluster allows): a process that starts
 * empty, or finds the journal trimmed behind it, loads one and applies the
 * journal from where it stands.
 */
export class SnapshotStore {
  readonly #store: ObjectStore;
  /** What the names of this state's snapshots begin with, when several states share the bucket ("": none of the others'). */
  readonly #prefix: string;

  private constructor(store: ObjectStore, prefix: string) {
    this.#store = store;
    this.#prefix = prefix;
  }

  /** Opens the object store `bucket`, making it when missing; the snapshots named with `prefix` ("shard-1/"). */
  static async open(nc: NatsConnection, bucket: string, prefix = ""): Promise<SnapshotStore> {
    const objm = new Objm(nc);
    const store = await whenJetStreamReady(() => objm.create(bucket, { storage: StorageType.File, replicas: clusterReplicas(nc) }));
    return new SnapshotStore(store, prefix);
  }

  /** The object store `bucket` when there is one (a reader that must not make it). */
  static async existing(nc: NatsConnection, bucket: string, prefix = ""): Promise<SnapshotStore | undefined> {
    const store = await new Objm(nc).open(bucket).catch((err: Error) => {
      if (/not found/i.test(err.message)) return undefined;
      throw err;
    });
    return store && new SnapshotStore(store, prefix);
  }

  /** Stores the file `file`, a state that holds the journal up to entry `index` of record `seq`. */
  async put(file: string, position: { seq: number; index: number }): Promise<Snapshot> {
    const name = `${this.#prefix}${String(position.seq).padStart(16, "0")}.${position.index}`;
    const metadata = { seq: String(position.seq), index: String(position.index) };
    const bytes = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return snapshotOf(await this.#store.put({ name, metadata, options: { max_chunk_size: CHUNK_BYTES } }, bytes));
  }

  /** The snapshots stored, oldest first. */
  async list(): Promise<Snapshot[]> {
    const all = await this.#store.list();
    return all
      .filter((info) => !info.deleted && info.metadata?.seq && this.#named(info.name))
      .map(snapshotOf)
      .sort((a, b) => a.seq - b.seq || a.index - b.index);
  }

  /** Writes `snapshot` to `file` (whole, its digest checked, or not at all). */
  async fetch(snapshot: Snapshot, file: string): Promise<void> {
    const part = `${file}.part`;
    try {
      const result = await this.#store.get(snapshot.name);
      if (!result) throw new Error(`No snapshot ${snapshot.name}`);
      await result.data.pipeTo(Writable.toWeb(createWriteStream(part)));
      const err = await result.error;
      if (err) throw err;
      if ((await stat(part)).size !== snapshot.bytes) throw new Error(`Snapshot ${snapshot.name} arrived short`);
      await rename(part, file);
    } finally {
      await rm(part, { force: true });
    }
  }

  #named(name: string): boolean {
    return this.#prefix === "" ? !name.includes("/") : name.startsWith(this.#prefix);
  }

  async remove(snapshot: Snapshot): Promise<void> {
    await this.#store.delete(snapshot.name);
  }
}

function snapshotOf(info: ObjectInfo): Snapshot {
  return {
    name: info.name,
    seq: Number(info.metadata?.seq),
    index: Number(info.metadata?.index),
    bytes: info.size,
    takenMs: Date.parse(info.mtime),
  };
}
