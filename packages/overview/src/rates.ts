import type { CacheCounters, Histogram, Overview } from "./overview.ts";

export interface DialectRates {
  requestsPerSecond: number;
  serverErrorsPerSecond: number;
  receivedBytesPerSecond: number;
  sentBytesPerSecond: number;
  /** Latency quantiles of the requests answered between the two overviews, in ms (undefined: none answered). */
  p50Ms: number | undefined;
  p99Ms: number | undefined;
}

export interface CacheRates {
  /** Hits of all page reads between the two overviews (undefined: none). */
  hitRatio: number | undefined;
  memoryBytesPerSecond: number;
  diskBytesPerSecond: number;
  ufsBytesPerSecond: number;
}

/** What happened between two overviews: rates per second, latencies and hit ratios over that time. */
export interface Rates {
  seconds: number;
  dialects: Record<string, DialectRates>;
  cache: CacheRates;
  nodes: Record<string, CacheRates>;
}

/** How much a counter grew (a process that restarted counts from zero again: its new count). */
const grown = (before: number | undefined, after: number) => (before === undefined || after < before ? after : after - before);

/** Rates between overview `before` and the later `after`. */
export function ratesBetween(before: Overview, after: Overview): Rates {
  const seconds = Math.max(0.001, (after.takenMs - before.takenMs) / 1000);
  const per = (b: number | undefined, a: number) => grown(b, a) / seconds;
  const dialects: Record<string, DialectRates> = {};
  for (const [name, a] of Object.entries(after.dialects)) {
    const b = before.dialects[name];
    const latency = histogramDelta(b?.latency, a.latency);
    const p50 = quantile(0.5, latency);
    const p99 = quantile(0.99, latency);
    dialects[name] = {
      requestsPerSecond: per(b?.requests, a.requests),
      serverErrorsPerSecond: per(b?.serverErrors, a.serverErrors),
      receivedBytesPerSecond: per(b?.receivedBytes, a.receivedBytes),
      sentBytesPerSecond: per(b?.sentBytes, a.sentBytes),
      p50Ms: p50 === undefined ? undefined : p50 * 1000,
      p99Ms: p99 === undefined ? undefined : p99 * 1000,
    };
  }
  const cacheRates = (b: CacheCounters | undefined, a: CacheCounters): CacheRates => {
    const hits = grown(b?.hits, a.hits);
    const reads = hits + grown(b?.misses, a.misses);
    return {
      hitRatio: reads > 0 ? hits / reads : undefined,
      memoryBytesPerSecond: per(b?.memoryReadBytes, a.memoryReadBytes),
      diskBytesPerSecond: per(b?.diskReadBytes, a.diskReadBytes),
      ufsBytesPerSecond: per(b?.ufsReadBytes, a.ufsReadBytes),
    };
  };
  const nodes: Record<string, CacheRates> = {};
  for (const node of after.nodes) nodes[node.id] = cacheRates(before.nodes.find((n) => n.id === node.id)?.cache, node.cache);
  return { seconds, dialects, cache: cacheRates(before.cache, after.cache), nodes };
}

function histogramDelta(before: Histogram | undefined, after: Histogram): Histogram {
  const counts = after.le.map((le, i) => {
    const earlier = before?.counts[before.le.indexOf(le)];
    return grown(earlier, after.counts[i] ?? 0);
  });
  return { le: after.le, counts };
}

/**
 * The `q` quantile of a cumulative histogram, as Prometheus's
 * histogram_quantile: linear within the bucket it falls in (the upper bound
 * of the last finite bucket when it falls in +Inf); undefined when empty.
 */
export function quantile(q: number, h: Histogram): number | undefined {
  const total = h.counts[h.counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < h.le.length; i++) {
    const count = h.counts[i] ?? 0;
    if (count < rank) continue;
    const upper = h.le[i] as number;
    if (upper === Number.POSITIVE_INFINITY) return h.le[i - 1] ?? 0;
    const lower = i === 0 ? 0 : (h.le[i - 1] as number);
    const below = i === 0 ? 0 : (h.counts[i - 1] ?? 0);
    return count === below ? upper : lower + ((upper - lower) * (rank - below)) / (count - below);
  }
  return h.le[h.le.length - 2];
}
