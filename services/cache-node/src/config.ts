import { join, resolve } from "node:path";

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
}

export const DEFAULT_PORT = 29999;
export const DEFAULT_CAPACITY_BYTES = 8 * 1024 ** 3;
export const DEFAULT_PAGE_SIZE = 1024 * 1024;
export const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;

/** Parses sizes like "512MiB", "8GiB", "1048576". */
export function parseSize(text: string, setting: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)$/i.exec(text.trim());
  if (!m) throw new Error(`${setting} must be a size such as 8GiB, not "${text}"`);
  const units: Record<string, number> = {
    "": 1,
    b: 1,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    tib: 1024 ** 4,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    tb: 1e12,
  };
  return Math.floor(Number(m[1]) * (units[(m[2] ?? "").toLowerCase()] ?? 1));
}

function parsePort(text: string | undefined, fallback: number, setting: string): number {
  if (text === undefined) return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${setting} must be a port number, not "${text}"`);
  return port;
}

/** Options from KOINE_HOME, KOINE_NATS_URL, KOINE_NODE_ID, KOINE_CACHE_PORT, KOINE_CACHE_CAPACITY, KOINE_CACHE_MEMORY, ... */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): CacheNodeOptions {
  const home = resolve(env.KOINE_HOME ?? ".koine");
  const nodeId = env.KOINE_NODE_ID ?? "node0";
  if (!/^[A-Za-z0-9_-]+$/.test(nodeId)) throw new Error(`KOINE_NODE_ID must be letters, digits, "-" or "_", not "${nodeId}"`);
  const pageSize = parseSize(env.KOINE_PAGE_SIZE ?? String(DEFAULT_PAGE_SIZE), "KOINE_PAGE_SIZE");
  return {
    natsUrl: env.KOINE_NATS_URL ?? "nats://127.0.0.1:4222",
    nodeId,
    dataDir: env.KOINE_CACHE_DIR ?? join(home, "cache", nodeId),
    host: env.KOINE_CACHE_HOST ?? "0.0.0.0",
    port: parsePort(env.KOINE_CACHE_PORT, DEFAULT_PORT, "KOINE_CACHE_PORT"),
    advertiseHost: env.KOINE_ADVERTISE_HOST ?? "127.0.0.1",
    capacityBytes: parseSize(env.KOINE_CACHE_CAPACITY ?? String(DEFAULT_CAPACITY_BYTES), "KOINE_CACHE_CAPACITY"),
    memoryBytes: parseSize(env.KOINE_CACHE_MEMORY ?? String(DEFAULT_MEMORY_BYTES), "KOINE_CACHE_MEMORY"),
    pageSize,
  };
}
