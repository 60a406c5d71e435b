import assert from "node:assert/strict";
import { test } from "node:test";
import { collectOverview, type Overview, parseMetrics, quantile, ratesBetween, type ServiceOverview } from "./mod.ts";

const TEXT = `# HELP koine_http_requests_total Requests answered
# TYPE koine_http_requests_total counter
koine_http_requests_total{dialect="s3",operation="GetObject",status="200"} 90
koine_http_requests_total{dialect="s3",operation="PutObject",status="503"} 10
koine_http_requests_total{dialect="koine",operation="metrics",status="200"} 4
koine_http_request_duration_seconds_bucket{le="0.01",dialect="s3",operation="GetObject"} 50
koine_http_request_duration_seconds_bucket{le="0.1",dialect="s3",operation="GetObject"} 90
koine_http_request_duration_seconds_bucket{le="+Inf",dialect="s3",operation="GetObject"} 90
koine_http_request_duration_seconds_bucket{le="0.01",dialect="s3",operation="PutObject"} 0
koine_http_request_duration_seconds_bucket{le="0.1",dialect="s3",operation="PutObject"} 10
koine_http_request_duration_seconds_bucket{le="+Inf",dialect="s3",operation="PutObject"} 10
koine_cache_hits_total{node="node0"} 30
koine_cache_misses_total{node="node0"} 10
koine_cache_memory_read_bytes_total{node="node0"} 1024
koine_weird{path="a \\"quoted\\" \\\\ },x"} 7
not a sample line
`;

test("overview - the Prometheus text format: labels with escapes, comments and malformed lines skipped", () => {
  const samples = parseMetrics(TEXT);
  assert.equal(samples.length, 13);
  assert.deepEqual(samples.at(-1), { name: "koine_weird", labels: { path: 'a "quoted" \\ },x' }, value: 7 });
  assert.deepEqual(parseMetrics('x{le="+Inf"} +Inf\ny 1e3 1700000000'), [
    { name: "x", labels: { le: "+Inf" }, value: Number.POSITIVE_INFINITY },
    { name: "y", labels: {}, value: 1000 },
  ]);
});

test("overview - each process scraped once, dialects and cache nodes added up; rates and quantiles between two", async () => {
  const service = (role: string, pid: number, state: "UP" | "DOWN" = "UP"): ServiceOverview => ({
    role,
    id: `${role}-${pid}`,
    host: "h",
    pid,
    startedMs: 0,
    heardMs: 0,
    heardMsAgo: 0,
    state,
    opsUrl: `http://${role}`,
  });
  const scraped: string[] = [];
  const member = { id: "node0", url: "http://n", capacityBytes: 100, usedBytes: 10, startedMs: 0 };
  const take = async (text: string, takenMs: number): Promise<Overview> => ({
    ...(await collectOverview({
      // The s3 gateway and the admin API in one process: one registry, scraped once. A DOWN service is not asked.
      services: [service("s3-gateway", 1), service("alluxio-admin", 1), service("cache-node", 2, "DOWN")],
      members: [member],
      jobs: [],
      scrape: async (url) => {
        scraped.push(url);
        return text;
      },
    })),
    takenMs,
  });
  const before = await take(TEXT, 0);
  assert.deepEqual(scraped, ["http://s3-gateway/metrics"]);
  assert.equal(before.dialects.s3?.requests, 100);
  assert.equal(before.dialects.s3?.serverErrors, 10);
  assert.equal(before.dialects.koine, undefined, "health and metrics are not a dialect's traffic");
  assert.deepEqual(before.dialects.s3?.latency, { le: [0.01, 0.1, Number.POSITIVE_INFINITY], counts: [50, 100, 100] });
  assert.deepEqual(before.nodes[0]?.cache, { hits: 30, misses: 10, memoryReadBytes: 1024, diskReadBytes: 0, ufsReadBytes: 0 });

  const later = TEXT.replace('GetObject",status="200"} 90', 'GetObject",status="200"} 190')
    .replace('le="0.1",dialect="s3",operation="GetObject"} 90', 'le="0.1",dialect="s3",operation="GetObject"} 190')
    .replace('le="+Inf",dialect="s3",operation="GetObject"} 90', 'le="+Inf",dialect="s3",operation="GetObject"} 190')
    .replace('koine_cache_hits_total{node="node0"} 30', 'koine_cache_hits_total{node="node0"} 120');
  const rates = ratesBetween(before, await take(later, 2000));
  assert.equal(rates.seconds, 2);
  assert.equal(rates.dialects.s3?.requestsPerSecond, 50);
  // The 100 requests between took 10-100 ms: the median is at 55 ms, the 99th percentile at 99.1 ms.
  assert.equal(rates.dialects.s3?.p50Ms?.toFixed(1), "55.0");
  assert.equal(rates.dialects.s3?.p99Ms?.toFixed(1), "99.1");
  assert.equal(rates.cache.hitRatio, 1);
  assert.equal(rates.nodes.node0?.hitRatio, 1);
  // A restarted process counts from zero: its new count is what it did.
  assert.equal(ratesBetween(await take(later, 0), await take(TEXT, 1000)).dialects.s3?.requestsPerSecond, 100);
});

test("overview - quantile: as histogram_quantile, in the +Inf bucket the last finite bound; none of nothing", () => {
  assert.equal(quantile(0.5, { le: [1, 2, Number.POSITIVE_INFINITY], counts: [0, 0, 0] }), undefined);
  assert.equal(quantile(0.5, { le: [1, 2, Number.POSITIVE_INFINITY], counts: [10, 20, 20] }), 1);
  assert.equal(quantile(0.99, { le: [1, 2, Number.POSITIVE_INFINITY], counts: [0, 0, 5] }), 2);
});
