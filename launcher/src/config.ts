import { DEFAULT_CAPACITY_BYTES, DEFAULT_MEMORY_BYTES } from "@koine/cache-node";
import { durationFrom, homeFrom, portFrom, sizeFrom } from "@koine/config";
import { parseUsers } from "@koine/frontend";
import { DEFAULT_SYNC_INTERVAL_MS, DEFAULT_TTL_CHECK_MS } from "@koine/metadata";
import { parseDomains } from "@koine/s3";
import type { LocalClusterOptions } from "./local_cluster.ts";

/**
 * Options of the all-in-one cluster from the environment: KOINE_HOME,
 * KOINE_NATS_URL (else a nats-server is started on KOINE_NATS_PORT),
 * KOINE_S3_PORT, KOINE_ALLUXIO_PORT, KOINE_ADMIN_PORT, KOINE_CACHE_PORT, KOINE_CACHE_NODES, KOINE_CACHE_CAPACITY, KOINE_CACHE_MEMORY,
 * KOINE_ACCESS_KEY, KOINE_SECRET_KEY, KOINE_S3_USERS, KOINE_S3_DOMAINS, KOINE_UFS_SYNC_INTERVAL, KOINE_TTL_CHECK_INTERVAL.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): LocalClusterOptions {
  const nodes = Number(env.KOINE_CACHE_NODES ?? 1);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)
    throw new Error(`KOINE_CACHE_NODES must be 1 to 64, not "${env.KOINE_CACHE_NODES}"`);
  return {
    home: homeFrom(env),
    ...(env.KOINE_NATS_URL ? { natsUrl: env.KOINE_NATS_URL } : {}),
    natsPort: portFrom(env, "KOINE_NATS_PORT", 4222),
    s3Port: portFrom(env, "KOINE_S3_PORT", 9000),
    alluxioPort: portFrom(env, "KOINE_ALLUXIO_PORT", 39999),
    adminPort: portFrom(env, "KOINE_ADMIN_PORT", 19999),
    cachePort: portFrom(env, "KOINE_CACHE_PORT", 29999),
    cacheNodes: nodes,
    cacheCapacityBytes: sizeFrom(env, "KOINE_CACHE_CAPACITY", DEFAULT_CAPACITY_BYTES),
    cacheMemoryBytes: sizeFrom(env, "KOINE_CACHE_MEMORY", DEFAULT_MEMORY_BYTES),
    credentials: parseUsers(env),
    s3Domains: parseDomains(env),
    syncIntervalMs: durationFrom(env, "KOINE_UFS_SYNC_INTERVAL", DEFAULT_SYNC_INTERVAL_MS),
    ttlCheckMs: durationFrom(env, "KOINE_TTL_CHECK_INTERVAL", DEFAULT_TTL_CHECK_MS),
  };
}
