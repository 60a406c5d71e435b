import { PassThrough } from "node:stream";
import type { ReadType } from "@koine/client";
import type { FileInfo } from "@koine/protocol";
import { AlluxioError } from "./errors.ts";

interface WriteEntry {
  kind: "write";
  client: string;
  /** Who opened it: nobody else may use it. */
  user: string;
  path: string;
  sink: PassThrough;
  done: Promise<FileInfo>;
  lastUsedMs: number;
}

interface ReadEntry {
  kind: "read";
  client: string;
  user: string;
  path: string;
  readType: ReadType;
  /** A read sends what is left of the file: after one, nothing is. */
  consumed: boolean;
  lastUsedMs: number;
}

type Entry = WriteEntry | ReadEntry;

function isKind<K extends Entry["kind"]>(entry: Entry, kind: K): entry is Extract<Entry, { kind: K }> {
  return entry.kind === kind;
}

export const DEFAULT_STREAM_IDLE_MS = 5 * 60_000;
/** Open streams in all; each open write holds a staged file and a connection to a cache node. */
export const DEFAULT_MAX_STREAMS = 2048;
/** Open streams of one client (remote address). */
export const DEFAULT_MAX_STREAMS_PER_CLIENT = 256;

export interface StreamLimits {
  /** Idle streams are dropped after this long. @default DEFAULT_STREAM_IDLE_MS */
  idleMs?: number;
  /** @default DEFAULT_MAX_STREAMS */
  maxStreams?: number;
  /** @default DEFAULT_MAX_STREAMS_PER_CLIENT */
  maxStreamsPerClient?: number;
}

/**
 * The open streams of the Alluxio streams API, by integer id. A write
 * stream feeds one file write that completes on close; streams idle longer
 * than `idleMs` are dropped (an unfinished write is abandoned, not committed).
 * How many may be open, in all and per client, is bounded.
 */
export class Streams {
  readonly #entries = new Map<number, Entry>();
  readonly #perClient = new Map<string, number>();
  readonly #idleMs: number;
  readonly #maxStreams: number;
  readonly #maxPerClient: number;
  readonly #timer: NodeJS.Timeout;
  #next = 1;

  constructor(limits: StreamLimits = {}) {
    this.#idleMs = limits.idleMs ?? DEFAULT_STREAM_IDLE_MS;
    this.#maxStreams = limits.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.#maxPerClient = limits.maxStreamsPerClient ?? DEFAULT_MAX_STREAMS_PER_CLIENT;
    this.#timer = setInterval(() => this.#expire(), Math.min(this.#idleMs, 10_000));
    this.#timer.unref();
  }

  /** Opens a write stream for `user` at address `client`, or refuses with RESOURCE_EXHAUSTED before `write` starts. */
  openWrite(client: string, user: string, path: string, write: (body: AsyncIterable<Buffer>) => Promise<FileInfo>): number {
    this.#admit(client);
    const sink = new PassThrough();
    // The write reports its failure on close; an abandoned sink's error must reach no one else.
    sink.on("error", () => {});
    const done = write(sink);
    done.catch(() => {});
    return this.#add({ kind: "write", client, user, path, sink, done, lastUsedMs: Date.now() });
  }

  openRead(client: string, user: string, path: string, readType: ReadType): number {
    this.#admit(client);
    return this.#add({ kind: "read", client, user, path, readType, consumed: false, lastUsedMs: Date.now() });
  }

  #admit(client: string): void {
    if (this.#entries.size >= this.#maxStreams) {
      throw new AlluxioError("RESOURCE_EXHAUSTED", `Cannot open a stream: ${this.#maxStreams} are open; close some first`);
    }
    if ((this.#perClient.get(client) ?? 0) >= this.#maxPerClient) {
      throw new AlluxioError("RESOURCE_EXHAUSTED", `Cannot open a stream: this client has ${this.#maxPerClient} open; close some first`);
    }
  }

  #add(entry: Entry): number {
    const id = this.#next++;
    this.#entries.set(id, entry);
    this.#perClient.set(entry.client, (this.#perClient.get(entry.client) ?? 0) + 1);
    return id;
  }

  #remove(id: number, entry: Entry): void {
    this.#entries.delete(id);
    const left = (this.#perClient.get(entry.client) ?? 1) - 1;
    if (left === 0) this.#perClient.delete(entry.client);
    else this.#perClient.set(entry.client, left);
  }

  /** The stream `id` of `user`: another user's is NOT_FOUND, as one that does not exist. */
  #of(id: number, user: string): Entry {
    const entry = this.#entries.get(id);
    if (!entry || entry.user !== user) throw new AlluxioError("NOT_FOUND", `stream ${id} does not exist`);
    return entry;
  }

  get<K extends Entry["kind"]>(id: number, kind: K, user: string): Extract<Entry, { kind: K }> {
    const entry = this.#of(id, user);
    if (!isKind(entry, kind))
      throw new AlluxioError("INVALID_ARGUMENT", `stream ${id} is not for ${kind === "write" ? "writing" : "reading"}`);
    entry.lastUsedMs = Date.now();
    return entry;
  }

  /** Closes a stream; a write stream's file is committed, and any failure of it reported. */
  async close(id: number, user: string): Promise<void> {
    const entry = this.#of(id, user);
    this.#remove(id, entry);
    if (entry.kind === "write") {
      entry.sink.end();
      await entry.done;
    }
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, entry] of this.#entries) {
      if (now - entry.lastUsedMs < this.#idleMs) continue;
      this.#remove(id, entry);
      if (entry.kind === "write") entry.sink.destroy(new Error(`stream ${id} expired before it was closed`));
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const [id, entry] of this.#entries) {
      if (entry.kind === "write") entry.sink.destroy(new Error(`stream ${id} closed by shutdown`));
    }
    this.#entries.clear();
  }
}
