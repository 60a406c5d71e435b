import { setTimeout as sleep } from "node:timers/promises";
import { Journal, JournalFencedError, type JournalRecord, JournalTrimmedError, type NatsConnection } from "@koine/bus";
import type { Logger } from "@koine/log";
import { ErrorCode, journalOf, KoineError } from "@koine/protocol";
import { type JournalEntry, MUTATIONS, type Namespace } from "./namespace.ts";

/** How long a follower may apply nothing while the journal holds more before it reads the journal again. */
const FOLLOW_STALL_MS = 10_000;

/** The most entries one journal record carries (what waited while the record before it was being stored). */
const MAX_BATCH = 256;

/** When a change's caller hears back: once it is in LMDB (what it answers), or once the journal holds it. */
export type ChangeDone = "applied" | "journaled";

interface Waiting {
  entry: JournalEntry;
  done: ChangeDone;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * The namespace's changes through its journal: each change becomes an
 * entry appended to a JetStream stream, and is made in LMDB (in journal
 * order) only once the stream has stored it, so what a client was told is
 * done survives the loss of this host's LMDB. Changes asked for while a
 * record is being stored go together in the next (group commit). A replica
 * that does not lead follows the journal, applying what the leader appends.
 */
export class JournaledChanges {
  readonly #ns: Namespace;
  readonly #journal: Journal;
  readonly #log: Logger;
  #waiting: Waiting[] = [];
  #writing = false;
  /** The appends under way, and the applying of what they stored. */
  #written: Promise<void> = Promise.resolve();
  /** Whether this replica may append now (it holds the lease). */
  #mayAppend: () => boolean = () => true;
  /** The LMDB transactions of the last record this replica appended, once they have ended. */
  #applied: Promise<unknown> = Promise.resolve();
  /** The sequence of the last message of the last record read (0: none since start). */
  #received = 0;
  /** When the last record this replica applied (or appended) was stored (0: none since start). */
  appliedStoredMs = 0;
  /** Whether this replica still leads after an append was refused because another writer appended. */
  #stillLeads: () => Promise<boolean> = async () => true;

  private constructor(ns: Namespace, journal: Journal, log: Logger) {
    this.#ns = ns;
    this.#journal = journal;
    this.#log = log;
  }

  /** Opens `journal` (a shard's: {@link journalOf}) as `replica` (see {@link catchUp}: what LMDB lacks is applied then). */
  static async open(
    ns: Namespace,
    nc: NatsConnection,
    replica: string,
    log: Logger,
    journal: { stream: string; subject: string } = journalOf(0),
  ): Promise<JournaledChanges> {
    return new JournaledChanges(ns, await Journal.open(nc, { ...journal, writer: replica }), log);
  }

  /**
   * Changes are appended only while `may` says so (this replica leads);
   * others fail as UNAVAILABLE. When an append finds that another writer
   * appended, `stillLeads` is asked: if so (that was an old leader), what it
   * appended is applied before the next append; if not, this replica no
   * longer appends (and follows).
   */
  appendWhile(may: () => boolean, stillLeads: () => Promise<boolean>): void {
    this.#mayAppend = may;
    this.#stillLeads = stillLeads;
  }

  /**
   * Once what this replica appended, or is appending, is in LMDB (or its
   * append failed): reading the journal from LMDB's position before then
   * would apply those entries a second time.
   */
  async settled(): Promise<void> {
    await this.#written;
    await this.#applied;
  }

  /** Applies the entries LMDB does not hold yet, up to the journal's end now. */
  async catchUp(): Promise<void> {
    const from = this.#ns.journalPosition();
    if (from && from.seq > this.#journal.last) {
      this.#log.warn(
        { applied: from.seq, journal: this.#journal.last },
        "this LMDB holds changes beyond the journal's end (a new journal)",
      );
      return;
    }
    const started = performance.now();
    let entries = 0;
    for await (const record of this.#journal.read(from ? from.seq - 1 : 0)) entries += await this.#applyRecord(record);
    if (entries > 0) this.#log.info({ entries, ms: Math.round(performance.now() - started) }, "replayed the journal");
  }

  /** Whether the journal still ends where this replica last appended (or read) it: nobody else appended since. */
  async untouchedByOthers(): Promise<boolean> {
    return (await this.#journal.bounds()).lastSeq === this.#journal.last;
  }

  /** Drops the journal's records before sequence `before` (a snapshot holds them); how many messages went. */
  trim(before: number): Promise<number> {
    return this.#journal.trim(before);
  }

  /**
   * Applies records as the leader appends them, until stopped (a standby);
   * stopping waits for the record being applied. When the journal was
   * trimmed past this replica, it stops and calls `trimmed` (a snapshot is
   * needed).
   */
  follow(trimmed: () => void): { stop(): Promise<void> } {
    const stopped = new AbortController();
    const following = (async () => {
      while (!stopped.signal.aborted) {
        const from = this.#ns.journalPosition();
        const after = from ? from.seq - 1 : 0;
        this.#received = Math.max(this.#received, from?.seq ?? 0);
        // A read that stalls behind the journal's end (its consumer on a NATS server that lags, or was cut off) begins again.
        const reading = new AbortController();
        const abort = () => reading.abort();
        stopped.signal.addEventListener("abort", abort);
        const watch = this.#watchStall(reading);
        try {
          for await (const record of this.#journal.read(after, { follow: reading.signal })) {
            await this.#applyRecord(record);
            this.#ns.takePinChanges(); // the leader tells the cache nodes
          }
        } catch (err) {
          if (err instanceof JournalTrimmedError) {
            this.#log.warn({ err }, "the journal was trimmed past this replica: it loads a snapshot");
            trimmed();
            return;
          }
          this.#log.warn({ err }, "cannot follow the journal; trying again");
          await sleep(1000, undefined, { signal: stopped.signal }).catch(() => {});
        } finally {
          clearInterval(watch);
          stopped.signal.removeEventListener("abort", abort);
        }
      }
    })();
    return {
      async stop() {
        stopped.abort();
        await following;
      },
    };
  }

  /** Aborts `reading` when what the journal held a while ago has not arrived since, nothing having arrived meanwhile. */
  #watchStall(reading: AbortController): NodeJS.Timeout {
    let seen = this.#received;
    let held = 0;
    return setInterval(async () => {
      const received = this.#received;
      const stalled = received === seen && received < held;
      seen = received;
      held = (await this.#journal.bounds().catch(() => undefined))?.lastSeq ?? 0;
      if (stalled && !reading.signal.aborted) {
        this.#log.warn({ received, journalHeld: held }, "following the journal stalled behind its end; reading it again");
        reading.abort();
      }
    }, FOLLOW_STALL_MS);
  }

  /** Applies the entries of a record LMDB does not hold yet, in order; an entry that fails failed when it was first made too. */
  async #applyRecord(record: JournalRecord): Promise<number> {
    this.#received = Math.max(this.#received, record.lastSeq);
    const from = this.#ns.journalPosition();
    this.appliedStoredMs = record.storedMs;
    if (from && record.seq < from.seq) return 0;
    const applied: Promise<unknown>[] = [];
    for (const [index, entry] of decode(record.data).entries()) {
      if (from && record.seq === from.seq && index <= from.index) continue;
      applied.push(this.#ns.apply(entry, { seq: record.seq, index }).catch(() => undefined));
    }
    await Promise.all(applied);
    return applied.length;
  }

  /**
   * Makes a change: journaled first, then applied; what the change answers.
   * With `done` "journaled" it resolves (to nothing) once the journal holds
   * it, its LMDB transaction still to commit: for a record whose reader
   * reads the journal first (an intent: a new leader applies the journal
   * before it looks at intents), that is all the caller waits for.
   */
  change(op: string, args: unknown[], done: ChangeDone = "applied"): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ entry: { op, args, at: Date.now() }, done, resolve, reject });
      if (this.#writing) return;
      this.#writing = true;
      this.#written = this.#write();
    });
  }

  /** Appends what waits, record by record, until nothing does. */
  async #write(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, MAX_BATCH);
        let seq: number;
        try {
          if (!this.#mayAppend())
            throw new KoineError(ErrorCode.Unavailable, "This metadata replica does not lead (it lost its lease); ask again");
          seq = await this.#journal.append(encode(batch.map((w) => w.entry)));
          this.#received = this.#journal.last;
          this.appliedStoredMs = Date.now();
        } catch (err) {
          for (const w of batch) w.reject(err);
          if (err instanceof JournalFencedError && (await this.#stillLeads())) {
            // What this loop appended before is in LMDB before the journal is read from LMDB's position.
            await this.#applied;
            await this.catchUp().catch((e) => this.#log.warn({ err: e }, "cannot catch up with the journal"));
          }
          continue;
        }
        // Applied in order without waiting one for another: their LMDB transactions commit together.
        const applied = batch.map((w, index) => {
          const applying = this.#ns.apply(w.entry, { seq, index });
          if (w.done === "applied") return applying.then(w.resolve, w.reject);
          w.resolve(undefined);
          return applying.catch((err) => this.#log.error({ err, op: w.entry.op }, "a journaled change failed in LMDB"));
        });
        this.#applied = Promise.all(applied);
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * The namespace as its users see it: reads as they are, each change
   * through the journal.
   */
  namespace(): Namespace {
    const ns = this.#ns;
    return new Proxy(ns, {
      get: (target, prop) => {
        if ((MUTATIONS as readonly (string | symbol)[]).includes(prop)) return (...args: unknown[]) => this.change(prop as string, args);
        if (prop === "change") return (op: string, args: unknown[], done?: ChangeDone) => this.change(op, args, done);
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
}

function encode(entries: JournalEntry[]): Uint8Array {
  return Buffer.from(JSON.stringify(entries));
}

function decode(data: Uint8Array): JournalEntry[] {
  return JSON.parse(Buffer.from(data).toString("utf8")) as JournalEntry[];
}
