import { PassThrough } from "node:stream";
import type { ReadType } from "@koine/client";
import type { FileInfo } from "@koine/protocol";
import { AlluxioError } from "./errors.ts";

interface WriteEntry {
  kind: "write";
  path: string;
  sink: PassThrough;
  done: Promise<FileInfo>;
  lastUsedMs: number;
}

interface ReadEntry {
  kind: "read";
  path: string;
  readType: ReadType;
  /** A read sends what is left of the file: after one, nothing is. */
  consumed: boolean;
  lastUsedMs: number;
}

type Entry = WriteEntry | ReadEntry;

export const DEFAULT_STREAM_IDLE_MS = 5 * 60_000;

/**
 * The open streams of the Alluxio streams API, by integer id. A write
 * stream feeds one file write that completes on close; streams idle longer
 * than `idleMs` are dropped (an unfinished write is abandoned, not committed).
 */
export class Streams {
  readonly #entries = new Map<number, Entry>();
  readonly #idleMs: number;
  readonly #timer: NodeJS.Timeout;
  #next = 1;

  constructor(idleMs = DEFAULT_STREAM_IDLE_MS) {
    this.#idleMs = idleMs;
    this.#timer = setInterval(() => this.#expire(), Math.min(idleMs, 10_000));
    this.#timer.unref();
  }

  openWrite(path: string, write: (body: AsyncIterable<Buffer>) => Promise<FileInfo>): number {
    const sink = new PassThrough();
    const done = write(sink);
    done.catch(() => {}); // reported on close
    return this.#add({ kind: "write", path, sink, done, lastUsedMs: Date.now() });
  }

  openRead(path: string, readType: ReadType): number {
    return this.#add({ kind: "read", path, readType, consumed: false, lastUsedMs: Date.now() });
  }

  #add(entry: Entry): number {
    const id = this.#next++;
    this.#entries.set(id, entry);
    return id;
  }

  get(id: number, kind: Entry["kind"]): Entry {
    const entry = this.#entries.get(id);
    if (!entry || entry.kind !== kind) throw new AlluxioError("INVALID_ARGUMENT", `stream ${id} does not exist`);
    entry.lastUsedMs = Date.now();
    return entry;
  }

  /** Closes a stream; a write stream's file is committed, and any failure of it reported. */
  async close(id: number): Promise<void> {
    const entry = this.#entries.get(id);
    if (!entry) throw new AlluxioError("INVALID_ARGUMENT", `stream ${id} does not exist`);
    this.#entries.delete(id);
    if (entry.kind === "write") {
      entry.sink.end();
      await entry.done;
    }
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, entry] of this.#entries) {
      if (now - entry.lastUsedMs < this.#idleMs) continue;
      this.#entries.delete(id);
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
