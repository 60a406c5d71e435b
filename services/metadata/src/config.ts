import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { clusterKeyOf } from "@koine/access";
import { MOUNT_ROOTS_SETTING, mountRootsOf, readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import {
  CRASH_POINTS,
  type CrashPoint,
  DEFAULT_SNAPSHOT_EVERY_RECORDS,
  DEFAULT_SWEEP_GRACE_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  DEFAULT_SYNC_INTERVAL_MS,
  DEFAULT_TTL_CHECK_MS,
  type NamespaceOptions,
  parseUsers,
  USER_SETTINGS,
} from "@koine/namespace";
import { MAX_METADATA_SHARDS } from "@koine/protocol";
import { Type as T } from "@sinclair/typebox";

export { DEFAULT_SYNC_INTERVAL_MS, DEFAULT_TTL_CHECK_MS };
/** The port of metadata's /healthz, /readyz and /metrics. */
export const DEFAULT_OPS_PORT = 19998;

export interface MetadataOptions extends NamespaceOptions {
  /** How many shards the namespace is split into (this process serves every one). @default 1 */
  shards?: number;
  /** Where /healthz, /readyz and /metrics are served (none in the all-in-one process, whose front-ends answer them). */
  ops?: { host: string; port: number };
  /** HTTPS for the ops port. */
  tls?: Tls | undefined;
}

/** Metadata's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  ...USER_SETTINGS,
  KOINE_ROOT_UFS: Setting.optionalText("URI of the under-store mounted at / (default: file://<KOINE_HOME>/ufs)", "^[a-z0-9]+://"),
  KOINE_UFS_SYNC_INTERVAL: Setting.duration(
    DEFAULT_SYNC_INTERVAL_MS,
    "How old namespace entries may get before they are compared with the under-store again (-1: never)",
  ),
  KOINE_TTL_CHECK_INTERVAL: Setting.duration(DEFAULT_TTL_CHECK_MS, "How often times to live are checked"),
  KOINE_SWEEP_INTERVAL: Setting.duration(DEFAULT_SWEEP_INTERVAL_MS, "How often the under-stores are swept of staged leftovers"),
  KOINE_SWEEP_GRACE: Setting.duration(DEFAULT_SWEEP_GRACE_MS, "How old a staged leftover must be to be swept"),
  ...MOUNT_ROOTS_SETTING,
  KOINE_METADATA_DIR: Setting.optionalText(
    "Directory of this metadata replica's LMDB files (default: <KOINE_HOME>/metadata); replicas on one host each need their own",
  ),
  KOINE_METADATA_SHARDS: Setting.count(
    1,
    `How many shards the namespace is split into by top-level directory (at most ${MAX_METADATA_SHARDS}); the same on every metadata process, and kept once the namespace holds data`,
  ),
  KOINE_METADATA_SNAPSHOT_EVERY: Setting.count(
    DEFAULT_SNAPSHOT_EVERY_RECORDS,
    "Journal records between two snapshots of the namespace (the journal is trimmed behind the snapshots kept)",
  ),
  KOINE_METADATA_CRASH: Setting.optionalText(
    `Tests only: where metadata kills itself, between the two sides of a change (${CRASH_POINTS.join(", ")})`,
    `^(${CRASH_POINTS.join("|")})$`,
  ),
  KOINE_METADATA_HOST: Setting.text("0.0.0.0", "Address of metadata's health and metrics"),
  KOINE_METADATA_PORT: Setting.port(DEFAULT_OPS_PORT, "Port of metadata's health and metrics"),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): MetadataOptions {
  const s = readSettings(Settings, env);
  const home = resolve(s.KOINE_HOME);
  return {
    natsUrl: s.KOINE_NATS_URL,
    clusterKey: clusterKeyOf(s),
    tls: tlsOf(s),
    users: parseUsers(env),
    mountRoots: mountRootsOf(s, home),
    dataDir: s.KOINE_METADATA_DIR ? resolve(s.KOINE_METADATA_DIR) : join(home, "metadata"),
    rootUfs: s.KOINE_ROOT_UFS ?? pathToFileURL(join(home, "ufs")).href,
    syncIntervalMs: s.KOINE_UFS_SYNC_INTERVAL,
    ttlCheckMs: s.KOINE_TTL_CHECK_INTERVAL,
    snapshotEveryRecords: s.KOINE_METADATA_SNAPSHOT_EVERY,
    shards: Math.min(s.KOINE_METADATA_SHARDS, MAX_METADATA_SHARDS),
    crashAt: s.KOINE_METADATA_CRASH as CrashPoint | undefined,
    sweep: { intervalMs: s.KOINE_SWEEP_INTERVAL, graceMs: s.KOINE_SWEEP_GRACE },
    ops: { host: s.KOINE_METADATA_HOST, port: s.KOINE_METADATA_PORT },
  };
}
