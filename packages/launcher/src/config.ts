import { resolve } from "node:path";
import { DEFAULT_CAPACITY_BYTES, DEFAULT_MEMORY_BYTES, parseSize } from "@koine/cache-node";
import { parseDomains, parseUsers } from "@koine/s3-gateway";
import type { LocalClusterOptions } from "./local_cluster.ts";

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, not "${text}"`);
  return n;
}

/**
 * Options of the all-in-one cluster from the environment: KOINE_HOME,
 * KOINE_NATS_URL (else a nats-server is started on KOINE_NATS_PORT),
 * KOINE_S3_PORT, KOINE_ALLUXIO_PORT, KOINE_CACHE_PORT, KOINE_CACHE_NODES, KOINE_CACHE_CAPACITY, KOINE_CACHE_MEMORY,
 * KOINE_ACCESS_KEY, KOINE_SECRET_KEY, KOINE_S3_USERS, KOINE_S3_DOMAINS.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): LocalClusterOptions {
  const nodes = Number(env.KOINE_CACHE_NODES ?? 1);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)
    throw new Error(`KOINE_CACHE_NODES must be 1 to 64, not "${env.KOINE_CACHE_NODES}"`);
  return {
    home: resolve(env.KOINE_HOME ?? ".koine"),
    ...(env.KOINE_NATS_URL ? { natsUrl: env.KOINE_NATS_URL } : {}),
    natsPort: port(env, "KOINE_NATS_PORT", 4222),
    s3Port: port(env, "KOINE_S3_PORT", 9000),
    alluxioPort: port(env, "KOINE_ALLUXIO_PORT", 39999),
    cachePort: port(env, "KOINE_CACHE_PORT", 29999),
    cacheNodes: nodes,
    cacheCapacityBytes: parseSize(env.KOINE_CACHE_CAPACITY ?? String(DEFAULT_CAPACITY_BYTES), "KOINE_CACHE_CAPACITY"),
    cacheMemoryBytes: parseSize(env.KOINE_CACHE_MEMORY ?? String(DEFAULT_MEMORY_BYTES), "KOINE_CACHE_MEMORY"),
    credentials: parseUsers(env),
    s3Domains: parseDomains(env),
  };
}
