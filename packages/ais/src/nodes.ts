import { cpus, freemem, loadavg, totalmem } from "node:os";
import { request } from "@koine/bus";
import type { FileSystemClient } from "@koine/client";
import { type CacheStats, cacheNode } from "@koine/protocol";

/** A cache node as AIS's node status shows a target: its capacity and use, and its counters. */
export interface TargetStats {
  id: string;
  /** Where clients reach it (its AIS target, or its data port). */
  url: string;
  capacity: { used: number; total: number; pct_used: number };
  /** AIS-style trackers (`{"get.n": {"value": n}}`) from the node's own counters (what `/metrics` shows as koine_cache_*); absent when it did not answer. */
  tracker?: Record<string, { value: number }>;
}

function trackerOf(s: CacheStats): Record<string, { value: number }> {
  const counters: Record<string, number> = {
    "get.n": s.hits + s.misses,
    "get.hit.n": s.hits,
    "get.miss.n": s.misses,
    "get.coalesced.n": s.coalescedMisses,
    "get.mem.size": s.memoryReadBytes,
    "get.disk.size": s.diskReadBytes,
    "remote.get.size": s.ufsReadBytes,
    "lru.evict.n": s.evictedPages,
    "err.cksum.n": s.corruptPages,
    "pages.n": s.pages,
  };
  return Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, { value: v }]));
}

/** Every cache node's numbers: capacity and use from the membership, counters asked of each node (2 s at most). */
export async function targetStats(client: FileSystemClient): Promise<TargetStats[]> {
  return Promise.all(
    client.membership.members().map(async (m) => {
      const stats = await request(client.nc, cacheNode(m.id).stats, {}, { timeoutMs: 2_000 }).catch(() => undefined);
      return {
        id: m.id,
        url: m.aisUrl ?? m.url,
        capacity: {
          used: stats?.usedBytes ?? m.usedBytes,
          total: stats?.capacityBytes ?? m.capacityBytes,
          pct_used: m.capacityBytes > 0 ? ((stats?.usedBytes ?? m.usedBytes) * 100) / m.capacityBytes : 0,
        },
        ...(stats ? { tracker: trackerOf(stats) } : {}),
      };
    }),
  );
}

/** This host's memory and CPU, as AIS's MemCPUInfo. */
export function memCpu() {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  const total = totalmem();
  const free = freemem();
  return {
    mem_used: total - free,
    mem_avail: free,
    pct_mem_used: total > 0 ? ((total - free) * 100) / total : 0,
    pct_cpu_used: Math.min(100, (one * 100) / Math.max(1, cpus().length)),
    load_avg: { one, five, fifteen },
  };
}
