import type { Readable } from "node:stream";

/** What an under-store knows of one path. */
export interface UfsStatus {
  type: "file" | "directory";
  size: number;
  mtimeMs: number;
  /** Changes whenever the bytes may have changed. */
  fingerprint: string;
}

export interface UfsEntry extends UfsStatus {
  name: string;
}

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
  mkdir(path: string): Promise<void>;
  delete(path: string, options?: { recursive?: boolean }): Promise<void>;
  rename(src: string, dst: string): Promise<void>;
}
