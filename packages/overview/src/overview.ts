import type { Member, ServiceEntry } from "@koine/protocol";
import { parseMetrics, type Sample } from "./metrics_text.ts";

/** A histogram as scraped: cumulative counts per upper bound (`le`, seconds), ascending, +Inf last. */
export interface Histogram {
  le: number[];
  counts: number[];
}

/** What a dialect's front-ends have answered since they started (counters), and what they serve now. */
export interface DialectCounters {
  requests: number;
  /** Answers with a 5xx status. */
  serverErrors: number;
  receivedBytes: number;
  sentBytes: number;
  inFlight: number;
  latency: Histogram;
}

/** A cache node's page reads since it started: hits and misses, and bytes by where they came from. */
export interface CacheCounters {
  hits: number;
  misses: number;
  memoryReadBytes: number;
  diskReadBytes: number;
  ufsReadBytes: number;
}

export interface ServiceOverview extends ServiceEntry {
  state: "UP" | "DOWN";
  heardMsAgo: number;
}

export interface NodeOverview {
  id: string;
  url: string;
  state: "LIVE" | "DECOMMISSIONING";
  capacityBytes: number;
  usedBytes: number;
  startedMs: number;
  cache: CacheCounters;
}

/**
 * The cluster at one moment, from the services bucket, the membership and
 * every process's `/metrics`: counters since each process started. Two
 * overviews make rates ({@link ratesBetween}).
 */
export interface Overview {
  takenMs: number;
  services: ServiceOverview[];
  nodes: NodeOverview[];
  /** By dialect (`s3`, `alluxio`, `alluxio-admin`, `ais`, `ozone`, ...), over every front-end serving it. */
  dialects: Record<string, DialectCounters>;
  /** Every cache node's together. */
  cache: CacheCounters;
  /** Jobs not ended yet (the admin API's job JSON). */
  jobs: Record<string, unknown>[];
}

export interface OverviewSources {
  services: readonly ServiceOverview[];
  members: readonly Member[];
  jobs: readonly Record<string, unknown>[];
  /** The text of a `/metrics` endpoint (undefined when it did not answer). */
  scrape(url: string): Promise<string | undefined>;
}

const emptyCache = (): CacheCounters => ({ hits: 0, misses: 0, memoryReadBytes: 0, diskReadBytes: 0, ufsReadBytes: 0 });
const CACHE_COUNTERS: Record<string, keyof CacheCounters> = {
  koine_cache_hits_total: "hits",
  koine_cache_misses_total: "misses",
  koine_cache_memory_read_bytes_total: "memoryReadBytes",
  koine_cache_disk_read_bytes_total: "diskReadBytes",
  koine_cache_ufs_read_bytes_total: "ufsReadBytes",
};

/**
 * Scrapes each process once (services of one process share its metrics
 * registry: the all-in-one process, a cache node and its AIS target) and
 * adds up what they count.
 */
export async function collectOverview(sources: OverviewSources): Promise<Overview> {
  const takenMs = Date.now();
  const urls = new Map<string, string>();
  for (const s of sources.services) {
    const process = `${s.host}/${s.pid}`;
    if (s.state === "UP" && s.opsUrl !== undefined && !urls.has(process)) urls.set(process, `${s.opsUrl}/metrics`);
  }
  const texts = await Promise.all([...urls.values()].map((url) => sources.scrape(url).catch(() => undefined)));
  const samples = texts.flatMap((text) => (text === undefined ? [] : parseMetrics(text)));
  const byNode = cacheByNode(samples);
  const nodes = sources.members.map((m) => ({
    id: m.id,
    url: m.url,
    state: m.state ?? "LIVE",
    capacityBytes: m.capacityBytes,
    usedBytes: m.usedBytes,
    startedMs: m.startedMs,
    cache: byNode.get(m.id) ?? emptyCache(),
  }));
  const cache = emptyCache();
  for (const counters of byNode.values()) for (const k of Object.keys(cache) as (keyof CacheCounters)[]) cache[k] += counters[k];
  return { takenMs, services: [...sources.services], nodes, dialects: dialectsOf(samples), cache, jobs: [...sources.jobs] };
}

function cacheByNode(samples: readonly Sample[]): Map<string, CacheCounters> {
  const byNode = new Map<string, CacheCounters>();
  for (const s of samples) {
    const field = CACHE_COUNTERS[s.name];
    const node = s.labels.node;
    if (field === undefined || node === undefined) continue;
    const counters = byNode.get(node) ?? emptyCache();
    counters[field] += s.value;
    byNode.set(node, counters);
  }
  return byNode;
}

function dialectsOf(samples: readonly Sample[]): Record<string, DialectCounters> {
  const dialects: Record<string, DialectCounters> = {};
  const buckets = new Map<string, Map<number, number>>();
  const of = (name: string): DialectCounters => {
    dialects[name] ??= { requests: 0, serverErrors: 0, receivedBytes: 0, sentBytes: 0, inFlight: 0, latency: { le: [], counts: [] } };
    return dialects[name];
  };
  for (const s of samples) {
    const dialect = s.labels.dialect;
    if (dialect === undefined || dialect === "koine") continue;
    switch (s.name) {
      case "koine_http_requests_total":
        of(dialect).requests += s.value;
        if (s.labels.status?.startsWith("5")) of(dialect).serverErrors += s.value;
        break;
      case "koine_http_received_bytes_total":
        of(dialect).receivedBytes += s.value;
        break;
      case "koine_http_sent_bytes_total":
        of(dialect).sentBytes += s.value;
        break;
      case "koine_http_requests_in_flight":
        of(dialect).inFlight += s.value;
        break;
      case "koine_http_request_duration_seconds_bucket": {
        of(dialect);
        const le = s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le);
        const counts = buckets.get(dialect) ?? new Map<number, number>();
        counts.set(le, (counts.get(le) ?? 0) + s.value);
        buckets.set(dialect, counts);
        break;
      }
    }
  }
  for (const [dialect, counts] of buckets) {
    const le = [...counts.keys()].sort((a, b) => a - b);
    of(dialect).latency = { le, counts: le.map((bound) => counts.get(bound) ?? 0) };
  }
  return dialects;
}
