/**
 * koine's namespace: an inode tree in LMDB kept in step with the
 * under-stores (lazy sync, the commit protocol that publishes staged bytes
 * and names them), the mount table, pins, TTLs, multipart uploads and
 * users (secrets sealed with the cluster key); each concern answers its `koine.meta.*` requests through one
 * {@link Metadata} context. The metadata service composes them.
 * @module
 */

export { serveCommits } from "./commits.ts";
export { CRASH_POINTS, type CrashPoint, Metadata } from "./context.ts";
export { stateDifferences, stateDigest } from "./digest.ts";
export { type Intent, Intents } from "./intents.ts";
export { JournaledChanges } from "./journaled.ts";
export { reportMetrics } from "./metrics.ts";
export { serveMounts } from "./mounts.ts";
export { type JournalEntry, type JournalPosition, MUTATIONS, Namespace } from "./namespace.ts";
export { DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, describeCredentials, parseUsers, USER_SETTINGS } from "./seeds.ts";
export { installSnapshot, SNAPSHOTS_KEPT, Snapshotter, takeSnapshot } from "./snapshots.ts";
export {
  DEFAULT_SNAPSHOT_EVERY_RECORDS,
  DEFAULT_SYNC_INTERVAL_MS,
  DEFAULT_TTL_CHECK_MS,
  type NamespaceOptions,
  openNamespace,
  type ServedNamespace,
  serveNamespace,
} from "./start.ts";
export { DEFAULT_SWEEP_GRACE_MS, DEFAULT_SWEEP_INTERVAL_MS, Sweeper, type SweepOptions } from "./sweeper.ts";
export { UfsSync } from "./sync.ts";
export { serveTree } from "./tree.ts";
export { enforceTtlsEvery } from "./ttl.ts";
export { serveUploads, Uploads } from "./uploads.ts";
export { serveUsers, Users } from "./users.ts";
