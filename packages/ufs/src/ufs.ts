import type { Readable } from "node:stream";

/** What an under-store knows of one path. */
export interface UfsStatus {
  type: "file" | "directory";
  size: number;
  mtimeMs: number;
  /** Changes whenever the bytes may have changed. */
  fingerprint: string;
  /** The store's own entity tag, when it keeps one (S3: the MD5 of a single-part object). */
  etag?: string;
}

/** Bytes written and synced, not yet visible at their path. */
export interface StagedWrite {
  /** Store-relative path of the staged bytes. */
  stagedPath: string;
  status: UfsStatus;
}

/** What a publisher does in its turn, while no other publish of the path swaps. */
export interface PublishTurn<T> {
  /** Asked just before the swap: false leaves the path as it is and discards the staged bytes. */
  proceed?: () => boolean;
  /**
   * Runs right after the swap with the published file's status (metadata
   * queues its commit here, so that commits follow the under-store's order).
   */
  onSwap?: (status: UfsStatus) => T;
}

export interface Published<T> {
  /** False when `proceed` said no. */
  published: boolean;
  status: UfsStatus;
  /** What `onSwap` returned. */
  result: T | undefined;
}

export interface UfsEntry extends UfsStatus {
  name: string;
}

/** One of koine's own entries in a store: a staged write, or a multipart upload's staging directory. */
export interface OwnEntry {
  /** Store-relative path. */
  path: string;
  /** Last change: for a directory, of the newest file in it. */
  mtimeMs: number;
}

/** Where multipart uploads stage their parts: `/.koine-uploads/<uploadId>/<part>`. */
export const UPLOADS_DIR = ".koine-uploads";

/** Where S3 noncurrent versions keep their bytes: `/.koine-versions/<contentId>`. */
export const VERSIONS_DIR = ".koine-versions";

/**
 * An under-file-system: the store of record below the cache. Paths are
 * relative to the store's root, "/"-separated, and never leave it.
 */
export interface UnderFileSystem {
  stat(path: string): Promise<UfsStatus | undefined>;
  list(path: string): Promise<UfsEntry[]>;
  /**
   * Streams `length` bytes from `offset`. With `fingerprint`, fails with
   * STALE when the file is no longer that version.
   */
  openRange(path: string, offset: number, length: number, fingerprint?: string): Promise<Readable>;
  /** Writes `source` to `path` atomically: readers see old or new bytes, never a mix. */
  write(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<UfsStatus>;
  /**
   * Writes `source` durably beside `path` without showing it there yet;
   * {@link publish} makes it `path` in one step, {@link discard} drops it.
   */
  stage(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<StagedWrite>;
  /**
   * Makes a staged write the file at `path` (replacing what was there),
   * durably. The publishes of one path swap one after another; `turn` lets
   * the caller act in that order (see {@link PublishTurn}).
   */
  publish<T>(stagedPath: string, path: string, turn?: PublishTurn<T>): Promise<Published<T>>;
  discard(stagedPath: string): Promise<void>;
  /**
   * koine's own entries in the whole store, for sweeping: files of staged
   * writes (`.koine-tmp-*`, anywhere) and each upload's staging directory.
   */
  ownEntries(): AsyncIterable<OwnEntry>;
  mkdir(path: string): Promise<void>;
  /**
   * Removes the file at `path`, or the directory (`directory`, or
   * `recursive` with what is below it): a file and a directory may share a
   * path, as S3 keys "a" and "a/b" do.
   */
  delete(path: string, options?: { recursive?: boolean; directory?: boolean }): Promise<void>;
  /** Moves the file at `src`, or the directory (`directory`). */
  rename(src: string, dst: string, options?: { directory?: boolean }): Promise<void>;
}
