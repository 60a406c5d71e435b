import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { durationFrom, homeFrom, natsUrlFrom, portFrom, sizeFrom } from "@koine/config";

export interface CacheNodeOptions {
  natsUrl: string;
  /** Name of this node, unique in the cluster. */
  nodeId: string;
  /** Directory of this node's pages. */
  dataDir: string;
  host: string;
  /** Data port; 0 picks a free one. */
  port: number;
  /** Host name other services use to reach this node. */
  advertiseHost: string;
  capacityBytes: number;
  /** Hot pages also kept in memory, up to this many bytes (0: none). */
  memoryBytes: number;
  pageSize: number;
  /** How often cached contents are checked against their path's TTL. @default 10 s */
  policyCheckMs?: number;
}

export const DEFAULT_PORT = 29999;
export const DEFAULT_CAPACITY_BYTES = 8 * 1024 ** 3;
export const DEFAULT_PAGE_SIZE = 1024 * 1024;
export const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_POLICY_CHECK_MS = 10_000;

/** This host's first IPv4 address other hosts can reach (not loopback). */
function firstAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/** Options from KOINE_HOME, KOINE_NATS_URL, KOINE_NODE_ID ("auto": the host name), KOINE_CACHE_PORT, KOINE_ADVERTISE_HOST ("auto": the first non-loopback IPv4), KOINE_CACHE_CAPACITY, KOINE_CACHE_MEMORY, ... */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): CacheNodeOptions {
  const home = homeFrom(env);
  // "auto": the host's name, as for replicas a container orchestrator scales.
  const nodeId = env.KOINE_NODE_ID === "auto" ? hostname().replace(/[^A-Za-z0-9_-]/g, "-") : (env.KOINE_NODE_ID ?? "node0");
  if (!/^[A-Za-z0-9_-]+$/.test(nodeId)) throw new Error(`KOINE_NODE_ID must be letters, digits, "-" or "_", not "${nodeId}"`);
  const pageSize = sizeFrom(env, "KOINE_PAGE_SIZE", DEFAULT_PAGE_SIZE);
  return {
    natsUrl: natsUrlFrom(env),
    nodeId,
    dataDir: env.KOINE_CACHE_DIR ?? join(home, "cache", nodeId),
    host: env.KOINE_CACHE_HOST ?? "0.0.0.0",
    port: portFrom(env, "KOINE_CACHE_PORT", DEFAULT_PORT),
    advertiseHost: env.KOINE_ADVERTISE_HOST === "auto" ? firstAddress() : (env.KOINE_ADVERTISE_HOST ?? "127.0.0.1"),
    capacityBytes: sizeFrom(env, "KOINE_CACHE_CAPACITY", DEFAULT_CAPACITY_BYTES),
    memoryBytes: sizeFrom(env, "KOINE_CACHE_MEMORY", DEFAULT_MEMORY_BYTES),
    pageSize,
    policyCheckMs: durationFrom(env, "KOINE_POLICY_CHECK_INTERVAL", DEFAULT_POLICY_CHECK_MS),
  };
}
