import { type Static, Type as T } from "@sinclair/typebox";
import { ReadRange } from "./data.ts";

/** The JetStream KV bucket holding every job's record (durable: jobs survive restarts of every service). */
export const JOBS_BUCKET = "koine-jobs";

/** load, free, rebalance: the cache; delete, copy, move, archive: the namespace (AIS's multi-object and bucket jobs). */
export const JobKind = T.Union([
  T.Literal("load"),
  T.Literal("free"),
  T.Literal("rebalance"),
  T.Literal("delete"),
  T.Literal("copy"),
  T.Literal("move"),
  T.Literal("archive"),
]);
export type JobKind = Static<typeof JobKind>;

export const JobState = T.Union([T.Literal("RUNNING"), T.Literal("STOPPED"), T.Literal("SUCCEEDED"), T.Literal("FAILED")]);
export type JobState = Static<typeof JobState>;

/** Options of a job (Alluxio's names where it has them); all optional, each read by the kinds it concerns. */
export const JobOptions = T.Object({
  /** Files per batch sent to the cache nodes. @default 100 */
  batchSize: T.Optional(T.Integer({ minimum: 1, maximum: 10_000 })),
  /** Only files whose path matches. */
  fileFilterRegex: T.Optional(T.String({ maxLength: 1024 })),
  /** Cache nodes to load each block on: its owner and the next ones on the ring. @default 1 */
  replicas: T.Optional(T.Integer({ minimum: 1, maximum: 16 })),
  /** Files whose every block is cached already count as skipped. */
  skipIfExists: T.Optional(T.Boolean()),
  /** IF_CHANGED: compare with the under-store first, so a changed file is loaded as its new version. */
  loadPolicy: T.Optional(T.Literal("IF_CHANGED")),
  /** Bytes per second the job may read from the under-stores (0: no limit). */
  bandwidth: T.Optional(T.Integer({ minimum: 0 })),
  /** Rebalance: load blocks onto their new owners but keep the old copies. */
  skipPrune: T.Optional(T.Boolean()),
  /** Rebalance: only drop copies on nodes that no longer own them (clear stale cache). */
  pruneOnly: T.Optional(T.Boolean()),
  /** Rebalance: the node being decommissioned, which leaves the cluster once its blocks are on their new owners. */
  decommission: T.Optional(T.String()),
  /** Copy, move: the directory the job's paths are under, and the one they go to (keeping the rest of their path); archive: the archive's path. */
  source: T.Optional(T.String()),
  destination: T.Optional(T.String()),
  /** Copy, archive: who owns what is written (the user who asked). */
  owner: T.Optional(T.String()),
  /** Archive: name each file with its source directory's name first. */
  keepSourceName: T.Optional(T.Boolean()),
});
export type JobOptions = Static<typeof JobOptions>;

/** The archive formats an archive job writes, by the archive's name (tar, gzipped tar). */
export function archiveFormatOf(name: string): "tar" | "tgz" | undefined {
  if (name.endsWith(".tar")) return "tar";
  if (name.endsWith(".tgz") || name.endsWith(".tar.gz")) return "tgz";
  return undefined;
}

export const FileFailure = T.Object({ path: T.String(), message: T.String() });

/**
 * A job as stored and as the admin API shows it (Alluxio 3.x job JSON,
 * plus koine's `kind`, `cursor` and `failures`).
 */
export const JobRecord = T.Object({
  id: T.String(),
  kind: JobKind,
  alias: T.String(),
  paths: T.Array(T.String()),
  index: T.String(),
  options: JobOptions,
  state: JobState,
  startTime: T.String(),
  endTime: T.Optional(T.String()),
  /** Milliseconds the job ran, summed over its runs. */
  timeElapsedMilliseconds: T.Integer(),
  scannedFiles: T.Integer(),
  loadedNonEmptyFiles: T.Integer(),
  skippedFiles: T.Integer(),
  failedFiles: T.Integer(),
  totalBytes: T.Integer(),
  loadedBytes: T.Integer(),
  skippedBytes: T.Integer(),
  /** Bytes read from the under-stores (all replicas). */
  ufsReadBytes: T.Integer(),
  /** A free job's files and bytes dropped from the cache. */
  freedFiles: T.Optional(T.Integer()),
  freedBytes: T.Optional(T.Integer()),
  /** A rebalance: cached blocks seen, blocks loaded on their new owners, blocks pruned from nodes that no longer own them. */
  cachedBlocks: T.Optional(T.Integer()),
  movedBlocks: T.Optional(T.Integer()),
  prunedBlocks: T.Optional(T.Integer()),
  /** Files done (in path order): a resumed job starts after them. */
  cursor: T.Integer(),
  /** The first failures, with their reason. */
  failures: T.Array(FileFailure),
  errorMessage: T.Record(T.String(), T.String()),
});
export type JobRecord = Static<typeof JobRecord>;

/** A work-queue message: run (or resume) this job. */
export const JobMessage = T.Object({ jobId: T.String() });

/** Load these block ranges into a cache node's pages (pages already there are not read again). */
export const LoadBlocksRequest = T.Object({ ranges: T.Array(ReadRange) });
/** What loading one range did. */
export const RangeLoaded = T.Object({
  /** Bytes read from the under-store. */
  loadedBytes: T.Integer(),
  /** Bytes that were cached already. */
  cachedBytes: T.Integer(),
  error: T.Optional(T.String()),
});
export type RangeLoaded = Static<typeof RangeLoaded>;
/** Which of these ranges a cache node holds whole (every page). */
export const RangesRequest = T.Object({ ranges: T.Array(ReadRange) });
export const HeldReply = T.Object({ held: T.Array(T.Boolean()) });
export const DroppedReply = T.Object({ droppedPages: T.Integer() });

/** One result per requested range, in order. */
export const LoadBlocksReply = T.Object({ results: T.Array(RangeLoaded) });
export type LoadBlocksReply = Static<typeof LoadBlocksReply>;

/** The JetStream KV bucket of the global file index: the files whose cache placement the admin API reports. */
export const FILE_INDEX_BUCKET = "koine-file-index";
export const FileIndexEntry = T.Object({ path: T.String(), addedMs: T.Number() });

/** The JetStream KV bucket of cache policies (quota, TTL, priority, cache filters), watched by every cache node and client. */
export const POLICIES_BUCKET = "koine-policies";

export const PolicyKind = T.Union([T.Literal("quota"), T.Literal("ttl"), T.Literal("priority"), T.Literal("cacheFilter")]);
export type PolicyKind = Static<typeof PolicyKind>;
export const Priority = T.Union([T.Literal("HIGH"), T.Literal("MEDIUM"), T.Literal("LOW")]);
export type Priority = Static<typeof Priority>;
export const FilterType = T.Union([T.Literal("immutable"), T.Literal("maxAge"), T.Literal("skipCache")]);
export type FilterType = Static<typeof FilterType>;

/**
 * A cache policy. `path` is a namespace path covering everything below it
 * (quota, ttl, priority; the most specific one wins), or for a cache
 * filter a regular expression over paths ("" for the default rule).
 */
export const Policy = T.Object({
  kind: PolicyKind,
  path: T.String({ maxLength: 4096 }),
  /** quota: bytes each cache node may keep under `path`. */
  bytes: T.Optional(T.Integer({ minimum: 0 })),
  /** ttl: cached pages go this long after they were loaded. */
  ttlMs: T.Optional(T.Integer({ minimum: 0 })),
  /** priority: LOW pages are evicted first, HIGH last. */
  priority: T.Optional(Priority),
  /** cacheFilter: how data and metadata of matching paths are cached. */
  filter: T.Optional(FilterType),
  /** cacheFilter maxAge: how old metadata may get before it is checked with the under-store. */
  maxAgeMs: T.Optional(T.Integer({ minimum: 0 })),
  createdMs: T.Number(),
});
export type Policy = Static<typeof Policy>;
