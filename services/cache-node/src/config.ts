import { hostname, networkInterfaces } from "node:os";
import { join, resolve } from "node:path";
import { clusterKeyOf } from "@koine/access";
import {
  type CacheNodeOptions,
  DEFAULT_CAPACITY_BYTES,
  DEFAULT_MEMORY_BYTES,
  DEFAULT_PAGE_SIZE,
  DEFAULT_POLICY_CHECK_MS,
  DEFAULT_PORT,
} from "@koine/cache";
import { MOUNT_ROOTS_SETTING, mountRootsOf, readSettings, Setting, SHARED_SETTINGS, tlsOf } from "@koine/config";
import { Type as T } from "@sinclair/typebox";

/** A cache node process: the node, and its AIS target on `aisPort` (0: a free port, advertised in its membership entry). */
export interface CacheNodeServiceOptions extends CacheNodeOptions {
  aisPort?: number;
  /** Directories of this host below which an admin may promote files into a bucket (AIS's promote). */
  localRoots?: readonly string[];
}
export type { CacheNodeOptions };
export { DEFAULT_CAPACITY_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_PAGE_SIZE, DEFAULT_POLICY_CHECK_MS, DEFAULT_PORT };

/** This host's first IPv4 address other hosts can reach (not loopback). */
function firstAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/** A cache node's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  KOINE_NODE_ID: Setting.text("node0", 'Name of this node, unique in the cluster ("auto": the host name)', "^[A-Za-z0-9_-]+$"),
  KOINE_CACHE_DIR: Setting.optionalText("Directory of this node's pages (default: <KOINE_HOME>/cache/<node id>)"),
  KOINE_CACHE_HOST: Setting.text("0.0.0.0", "Address of the data endpoint"),
  KOINE_CACHE_PORT: Setting.port(DEFAULT_PORT, "Port of the data endpoint (and health, metrics)"),
  KOINE_ADVERTISE_HOST: Setting.text("127.0.0.1", 'Host name other services reach this node by ("auto": the first non-loopback IPv4)'),
  KOINE_CACHE_CAPACITY: Setting.size(DEFAULT_CAPACITY_BYTES, "Bytes of pages on disk"),
  KOINE_CACHE_MEMORY: Setting.size(DEFAULT_MEMORY_BYTES, "Bytes of the hottest pages also kept in memory (0: none)"),
  KOINE_PAGE_SIZE: Setting.size(DEFAULT_PAGE_SIZE, "Page size"),
  ...MOUNT_ROOTS_SETTING,
  KOINE_AIS_TARGET_PORT: Setting.port(0, "Port of the node's AIS target (0: a free one; gateways learn it from the membership)"),
  KOINE_POLICY_CHECK_INTERVAL: Setting.duration(DEFAULT_POLICY_CHECK_MS, "How often cached contents are checked against TTL policies"),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): CacheNodeServiceOptions {
  // "auto": the host's name, as for replicas a container orchestrator scales.
  const s = readSettings(
    Settings,
    env.KOINE_NODE_ID === "auto" ? { ...env, KOINE_NODE_ID: hostname().replace(/[^A-Za-z0-9_-]/g, "-") } : env,
  );
  const home = resolve(s.KOINE_HOME);
  return {
    natsUrl: s.KOINE_NATS_URL,
    clusterKey: clusterKeyOf(s),
    tls: tlsOf(s),
    nodeId: s.KOINE_NODE_ID,
    dataDir: s.KOINE_CACHE_DIR ?? join(home, "cache", s.KOINE_NODE_ID),
    host: s.KOINE_CACHE_HOST,
    port: s.KOINE_CACHE_PORT,
    advertiseHost: s.KOINE_ADVERTISE_HOST === "auto" ? firstAddress() : s.KOINE_ADVERTISE_HOST,
    capacityBytes: s.KOINE_CACHE_CAPACITY,
    memoryBytes: s.KOINE_CACHE_MEMORY,
    pageSize: s.KOINE_PAGE_SIZE,
    policyCheckMs: s.KOINE_POLICY_CHECK_INTERVAL,
    aisPort: s.KOINE_AIS_TARGET_PORT,
    localRoots: mountRootsOf(s, home),
  };
}
