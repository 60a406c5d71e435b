import type { Readable } from "node:stream";
import { UfsError } from "./errors.ts";
import type { OwnEntry, Published, StagedWrite, UfsEntry, UfsStatus, UnderFileSystem } from "./ufs.ts";

/** An under-store mounted read-only: reads pass through, every change is refused. */
export class ReadOnlyUfs implements UnderFileSystem {
  readonly #inner: UnderFileSystem;
  readonly #uri: string;

  constructor(inner: UnderFileSystem, uri: string) {
    this.#inner = inner;
    this.#uri = uri;
  }

  #refuse(path: string): never {
    throw new UfsError("PERMISSION_DENIED", `Cannot change "${path}": ${this.#uri} is mounted read-only`);
  }

  stat(path: string): Promise<UfsStatus | undefined> {
    return this.#inner.stat(path);
  }

  list(path: string): Promise<UfsEntry[]> {
    return this.#inner.list(path);
  }

  openRange(path: string, offset: number, length: number, fingerprint?: string): Promise<Readable> {
    return this.#inner.openRange(path, offset, length, fingerprint);
  }

  /** Nothing: koine stages nothing in a store it may not change. */
  async *ownEntries(): AsyncIterable<OwnEntry> {}

  write(path: string): Promise<UfsStatus> {
    this.#refuse(path);
  }

  stage(path: string): Promise<StagedWrite> {
    this.#refuse(path);
  }

  publish<T>(_stagedPath: string, path: string): Promise<Published<T>> {
    this.#refuse(path);
  }

  discard(stagedPath: string): Promise<void> {
    this.#refuse(stagedPath);
  }

  mkdir(path: string): Promise<void> {
    this.#refuse(path);
  }

  delete(path: string): Promise<void> {
    this.#refuse(path);
  }

  rename(src: string): Promise<void> {
    this.#refuse(src);
  }
}
