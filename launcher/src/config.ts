import { resolve } from "node:path";
import { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CLIENT, DEFAULT_STREAM_IDLE_MS } from "@koine/alluxio-proxy";
import { DEFAULT_CAPACITY_BYTES, DEFAULT_MEMORY_BYTES } from "@koine/cache-node";
import { readSettings, Setting, SHARED_SETTINGS } from "@koine/config";
import { parseUsers, USER_SETTINGS } from "@koine/frontend";
import { DEFAULT_SWEEP_GRACE_MS, DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_SYNC_INTERVAL_MS, DEFAULT_TTL_CHECK_MS } from "@koine/metadata";
import { DOMAIN_SETTINGS } from "@koine/s3";
import { Type as T } from "@sinclair/typebox";
import type { LocalClusterOptions } from "./local_cluster.ts";

/** The all-in-one cluster's settings (`npm run up`). */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  ...USER_SETTINGS,
  ...DOMAIN_SETTINGS,
  KOINE_NATS_URL: Setting.optionalText("NATS server URL(s) to use; unset: a nats-server is started on KOINE_NATS_PORT"),
  KOINE_NATS_PORT: Setting.port(4222, "Port of the nats-server started when KOINE_NATS_URL is unset"),
  KOINE_S3_PORT: Setting.port(9000, "Port of the S3 gateway"),
  KOINE_ALLUXIO_PORT: Setting.port(39999, "Port of the Alluxio proxy"),
  KOINE_ADMIN_PORT: Setting.port(19999, "Port of the admin API"),
  KOINE_CACHE_PORT: Setting.port(29999, "Data port of the first cache node (the next ones take the next ports)"),
  KOINE_CACHE_NODES: Setting.count(1, "Cache nodes", 64),
  KOINE_CACHE_CAPACITY: Setting.size(DEFAULT_CAPACITY_BYTES, "Bytes of pages on disk, per cache node"),
  KOINE_CACHE_MEMORY: Setting.size(DEFAULT_MEMORY_BYTES, "Bytes of the hottest pages kept in memory, per cache node"),
  KOINE_UFS_SYNC_INTERVAL: Setting.duration(
    DEFAULT_SYNC_INTERVAL_MS,
    "How old namespace entries may get before they are compared with the under-store again",
  ),
  KOINE_TTL_CHECK_INTERVAL: Setting.duration(DEFAULT_TTL_CHECK_MS, "How often times to live are checked"),
  KOINE_SWEEP_INTERVAL: Setting.duration(DEFAULT_SWEEP_INTERVAL_MS, "How often the under-stores are swept of staged leftovers"),
  KOINE_SWEEP_GRACE: Setting.duration(DEFAULT_SWEEP_GRACE_MS, "How old a staged leftover must be to be swept"),
  KOINE_ALLUXIO_STREAM_IDLE: Setting.duration(DEFAULT_STREAM_IDLE_MS, "Idle Alluxio streams are dropped after this long"),
  KOINE_ALLUXIO_MAX_STREAMS: Setting.count(DEFAULT_MAX_STREAMS, "Alluxio streams open at once, in all"),
  KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT: Setting.count(DEFAULT_MAX_STREAMS_PER_CLIENT, "Alluxio streams open at once, per client address"),
  KOINE_ADMIN_DISABLED: Setting.list([], "Admin API endpoints switched off (they answer 501), e.g. quota,ttl"),
});

/** Options of the all-in-one cluster from the environment ({@link Settings}). */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): LocalClusterOptions {
  const s = readSettings(Settings, env);
  return {
    home: resolve(s.KOINE_HOME),
    ...(s.KOINE_NATS_URL ? { natsUrl: s.KOINE_NATS_URL } : {}),
    natsPort: s.KOINE_NATS_PORT,
    s3Port: s.KOINE_S3_PORT,
    alluxioPort: s.KOINE_ALLUXIO_PORT,
    adminPort: s.KOINE_ADMIN_PORT,
    cachePort: s.KOINE_CACHE_PORT,
    cacheNodes: s.KOINE_CACHE_NODES,
    cacheCapacityBytes: s.KOINE_CACHE_CAPACITY,
    cacheMemoryBytes: s.KOINE_CACHE_MEMORY,
    credentials: parseUsers(env),
    s3Domains: s.KOINE_S3_DOMAINS,
    syncIntervalMs: s.KOINE_UFS_SYNC_INTERVAL,
    ttlCheckMs: s.KOINE_TTL_CHECK_INTERVAL,
    sweep: { intervalMs: s.KOINE_SWEEP_INTERVAL, graceMs: s.KOINE_SWEEP_GRACE },
    alluxioStreams: {
      idleMs: s.KOINE_ALLUXIO_STREAM_IDLE,
      maxStreams: s.KOINE_ALLUXIO_MAX_STREAMS,
      maxStreamsPerClient: s.KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT,
    },
    adminDisabled: s.KOINE_ADMIN_DISABLED,
  };
}
