import { type Static, Type as T } from "@sinclair/typebox";

/**
 * Messages of the data plane: HTTP between front-ends and cache nodes.
 * Bytes travel as HTTP bodies; these describe them (query strings, JSON).
 */

/** The largest file koine takes (1 PiB): every offset and size stays an exact integer. */
export const MAX_FILE_BYTES = 2 ** 50;
const ByteCount = (minimum: number) => T.Integer({ minimum, maximum: MAX_FILE_BYTES });

/** Read `length` bytes at `offset` of one version of a file. */
export const ReadRange = T.Object({
  contentId: T.String({ pattern: "^[0-9a-f]{8,64}$" }),
  mountId: T.String({ minLength: 1 }),
  path: T.String({ minLength: 1 }),
  fingerprint: T.String(),
  fileSize: ByteCount(0),
  offset: ByteCount(0),
  length: ByteCount(0),
  /** The bytes are only in the cache: a miss is an error, never an under-store read. */
  cacheOnly: T.Optional(T.Boolean()),
  /** Keep pages read from the under-store (false: NO_CACHE reads). @default true */
  keep: T.Optional(T.Boolean()),
  /** The file's namespace path, for the cache policies of its place. */
  nsPath: T.Optional(T.String()),
});
export type ReadRange = Static<typeof ReadRange>;

/** Write a body to the under-store at `path`, caching the listed blocks. */
export const WriteTarget = T.Object({
  mountId: T.String({ minLength: 1 }),
  path: T.String({ minLength: 1 }),
  contentId: T.String({ pattern: "^[0-9a-f]{8,64}$" }),
  blockSize: ByteCount(1),
  /** Indexes of the blocks this node owns and should keep in its cache. */
  cacheBlocks: T.Array(ByteCount(0)),
  /** Leave the bytes staged for the metadata commit to publish (else they are at `path` on return). */
  stage: T.Boolean(),
  /** The file's namespace path, for the cache policies of its place. */
  nsPath: T.Optional(T.String()),
});
export type WriteTarget = Static<typeof WriteTarget>;

/** Keep one block of a file in the cache only (MUST_CACHE, ASYNC_THROUGH): its pages are pinned. */
export const BlockTarget = T.Object({
  contentId: T.String({ pattern: "^[0-9a-f]{8,64}$" }),
  blockIndex: ByteCount(0),
  blockSize: ByteCount(1),
});
export type BlockTarget = Static<typeof BlockTarget>;

/** Write the concatenation of staged files to `path` (multipart complete). */
export const ConcatRequest = T.Object({
  mountId: T.String({ minLength: 1 }),
  path: T.String({ minLength: 1 }),
  contentId: T.String({ pattern: "^[0-9a-f]{8,64}$" }),
  sources: T.Array(T.String({ minLength: 1 })),
  /** Leave the result staged for the metadata commit to publish. */
  stage: T.Boolean(),
});
export type ConcatRequest = Static<typeof ConcatRequest>;

/** An error on the data plane, with a stable code. */
export const DataError = T.Object({ code: T.String(), message: T.String() });
