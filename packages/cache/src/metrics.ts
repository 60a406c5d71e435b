import { counter, gauge } from "@koine/metrics";
import type { CacheStats } from "@koine/protocol";

/** The cache nodes of this process, by id: their metrics are read from their stats when scraped. */
const nodes = new Map<string, () => CacheStats>();

type Numeric = { [K in keyof CacheStats]: CacheStats[K] extends number ? K : never }[keyof CacheStats];

function fromStats(kind: "counter" | "gauge", name: string, help: string, read: (s: CacheStats) => number): void {
  const make = kind === "counter" ? counter : gauge;
  make({
    name,
    help,
    labelNames: ["node"],
    collect() {
      // A counter cannot be set, only raised: from zero to the node's own count, at each scrape.
      this.reset();
      for (const [node, stats] of nodes) this.inc({ node }, read(stats()));
    },
  });
}

const field = (key: Numeric) => (s: CacheStats) => s[key];
fromStats("counter", "koine_cache_hits_total", "Page reads served from this node's pages (coalesced misses included)", field("hits"));
fromStats("counter", "koine_cache_misses_total", "Page reads that went to the under-store", field("misses"));
fromStats("counter", "koine_cache_coalesced_misses_total", "Misses of a page another read was already loading", field("coalescedMisses"));
fromStats("counter", "koine_cache_memory_read_bytes_total", "Page bytes served from memory", field("memoryReadBytes"));
fromStats("counter", "koine_cache_disk_read_bytes_total", "Page bytes served from local disk", field("diskReadBytes"));
fromStats("counter", "koine_cache_ufs_read_bytes_total", "Bytes read from under-stores", field("ufsReadBytes"));
fromStats("counter", "koine_cache_evicted_pages_total", "Pages evicted to make room", field("evictedPages"));
fromStats(
  "counter",
  "koine_cache_checksum_failures_total",
  "Pages that failed their checksum (dropped, read again)",
  field("corruptPages"),
);
fromStats("gauge", "koine_cache_pages", "Pages held", field("pages"));
fromStats("gauge", "koine_cache_used_bytes", "Bytes of pages held", field("usedBytes"));
fromStats("gauge", "koine_cache_capacity_bytes", "Bytes of pages this node may hold", field("capacityBytes"));

/** Reports a node's stats in this process's metrics until the returned function is called. */
export function reportMetrics(nodeId: string, stats: () => CacheStats): () => void {
  nodes.set(nodeId, stats);
  return () => {
    if (nodes.get(nodeId) === stats) nodes.delete(nodeId);
  };
}
