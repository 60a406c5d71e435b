import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { ServiceProcess } from "@koine/launcher";
import { freePort, onCleanup, startNats, tempDir, waitFor } from "@koine/testkit";
import { adminCall, alluxioRead, s3Client, signedRequest, TEST_CREDENTIALS } from "@koine/testkit/clients";

const PAGE = 1024 * 1024;

/** Samples of Prometheus text, by series ("name{labels}" as written), checking every line's shape as it goes. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not Prometheus text: ${JSON.stringify(line)}`);
    const text = (m[2] as string).toLowerCase();
    const value = text === "nan" ? Number.NaN : text === "+inf" ? Infinity : text === "-inf" ? -Infinity : Number(text);
    assert.ok(text === "nan" || !Number.isNaN(value), line);
    samples.set(m[1] as string, value);
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include every one of `labels`. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [series, value] of samples) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

const promtool = spawnSync("promtool", ["--version"]).status === 0;

/** Scrapes `url`, checks the text (promtool where installed, else the parser above) and returns its samples. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  if (promtool) {
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(check.status, 0, `promtool check metrics on ${url}: ${check.stdout}${check.stderr}`);
  }
  return parseMetrics(text);
}

test("metrics - every service of a multi-process cluster serves Prometheus text whose counters move by what was done", async (t) => {
  if (!promtool) t.diagnostic("promtool not installed (apt install prometheus): checking the text with the test's own parser only");
  const nats = await startNats(t);
  const home = await tempDir(t, "koine-metrics-");
  const base = { KOINE_HOME: home, KOINE_NATS_URL: nats.url };
  const [s3Port, alluxioPort, adminPort, cachePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const services = {
    metadata: new ServiceProcess("metadata", base),
    node: new ServiceProcess("cache-node", { ...base, KOINE_CACHE_PORT: String(cachePort), KOINE_CACHE_MEMORY: "0" }),
    runner: new ServiceProcess("job-runner", base),
    s3: new ServiceProcess("s3-gateway", { ...base, KOINE_S3_PORT: String(s3Port) }),
    alluxio: new ServiceProcess("alluxio-proxy", { ...base, KOINE_ALLUXIO_PORT: String(alluxioPort) }),
    admin: new ServiceProcess("alluxio-admin", { ...base, KOINE_ADMIN_PORT: String(adminPort) }),
  };
  for (const service of Object.values(services)) {
    await service.start();
    onCleanup(t, () => service.kill9());
  }
  const s3 = `http://127.0.0.1:${s3Port}`;
  const alluxio = `http://127.0.0.1:${alluxioPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const endpoints = {
    metadata: `${services.metadata.opsUrl}/metrics`,
    node: `http://127.0.0.1:${cachePort}/metrics`,
    runner: `${services.runner.opsUrl}/metrics`,
    s3: `${s3}/_koine/metrics`,
    alluxio: `${alluxio}/metrics`,
    admin: `${admin}/metrics`,
  };
  for (const url of [services.metadata.opsUrl, services.runner.opsUrl, `${s3}/_koine`, alluxio, admin, `http://127.0.0.1:${cachePort}`]) {
    await waitFor(`${url}/readyz`, async () => (await fetch(`${url}/readyz`)).ok);
  }
  const before = Object.fromEntries(await Promise.all(Object.entries(endpoints).map(async ([k, url]) => [k, await scrape(url)] as const)));

  // An S3 PUT and GET of 3 pages and a bit, an Alluxio read of the same object, a load job of a file found in the under-store.
  const body = randomBytes(3 * PAGE + 12_345);
  assert.equal((await signedRequest(s3, { method: "PUT", path: "/metered", ...TEST_CREDENTIALS })).status, 200);
  const put = await signedRequest(s3, { method: "PUT", path: "/metered/object", body, ...TEST_CREDENTIALS });
  assert.equal(put.status, 200, put.body);
  const client = s3Client(s3);
  onCleanup(t, () => client.destroy());
  const got = await client.send(new GetObjectCommand({ Bucket: "metered", Key: "object" }));
  assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(body));
  assert.ok((await alluxioRead(alluxio, "metered/object")).equals(body));
  const outside = randomBytes(2 * PAGE + 7);
  await mkdir(join(home, "ufs", "metered", "outside"), { recursive: true });
  await writeFile(join(home, "ufs", "metered", "outside", "file"), outside);
  const submitted = await adminCall(admin, "POST", "/api/v1/load", { paths: ["/metered/outside"] });
  assert.equal(submitted.status, 200, JSON.stringify(submitted.json));
  await waitFor(
    "the load job",
    async () => (await adminCall(admin, "GET", `/api/v1/load?id=${submitted.json.id}`)).json.state === "SUCCEEDED",
  );

  const after = Object.fromEntries(await Promise.all(Object.entries(endpoints).map(async ([k, url]) => [k, await scrape(url)] as const)));
  const moved = (service: keyof typeof endpoints, name: string, labels: Record<string, string> = {}) =>
    sum(after[service] as Map<string, number>, name, labels) - sum(before[service] as Map<string, number>, name, labels);

  // Front-ends: requests by dialect, operation and status; body bytes in and out.
  assert.equal(moved("s3", "koine_http_requests_total", { dialect: "s3", operation: "PutObject", status: "200" }), 1);
  assert.equal(moved("s3", "koine_http_requests_total", { dialect: "s3", operation: "GetObject", status: "200" }), 1);
  assert.equal(moved("s3", "koine_http_received_bytes_total", { dialect: "s3", operation: "PutObject" }), body.length);
  assert.equal(moved("s3", "koine_http_sent_bytes_total", { dialect: "s3", operation: "GetObject" }), body.length);
  assert.equal(moved("s3", "koine_http_request_duration_seconds_count", { dialect: "s3", operation: "CreateBucket" }), 1);
  assert.equal(moved("alluxio", "koine_http_requests_total", { dialect: "alluxio", operation: "open-file", status: "200" }), 1);
  assert.equal(moved("alluxio", "koine_http_sent_bytes_total", { dialect: "alluxio", operation: "streams/read" }), body.length);
  assert.equal(moved("admin", "koine_http_requests_total", { dialect: "alluxio-admin", status: "200" }) >= 2, true);
  // An answer fastify sends whole (its length given to writeHead, not set as a header): counted too.
  const submitAnswer = Buffer.byteLength(JSON.stringify(submitted.json));
  assert.equal(moved("admin", "koine_http_sent_bytes_total", { dialect: "alluxio-admin", operation: "POST /api/v1/load" }), submitAnswer);
  for (const service of ["s3", "alluxio", "admin"] as const) {
    assert.equal(sum(after[service] as Map<string, number>, "koine_http_requests_in_flight"), 1, `${service}: only the scrape itself`);
  }
  // NATS requests as each client of metadata saw them.
  for (const service of ["s3", "alluxio", "runner"] as const) {
    assert.ok(moved(service, "koine_nats_request_duration_seconds_count", { subject: "koine.meta.stat", code: "OK" }) > 0, service);
  }

  // The cache node: the PUT kept its 4 pages, so the GET and the Alluxio read hit them (from disk: no memory tier here);
  // the load missed the 3 pages of a file it had never seen and read them from the under-store.
  assert.equal(moved("node", "koine_cache_hits_total", { node: "node0" }), 8);
  assert.equal(moved("node", "koine_cache_disk_read_bytes_total"), 2 * body.length);
  assert.equal(moved("node", "koine_cache_memory_read_bytes_total"), 0);
  assert.equal(moved("node", "koine_cache_misses_total"), 3);
  assert.equal(moved("node", "koine_cache_ufs_read_bytes_total"), outside.length);
  assert.equal(moved("node", "koine_cache_pages"), 7);
  assert.equal(moved("node", "koine_cache_used_bytes"), body.length + outside.length);
  assert.equal(moved("node", "koine_cache_checksum_failures_total"), 0);
  assert.ok(moved("node", "koine_http_requests_total", { dialect: "cache", status: "200" }) >= 3, "data requests of the PUT, GET and read");

  // The job runner and metadata.
  assert.equal(moved("runner", "koine_jobs_total", { kind: "load", state: "SUCCEEDED" }), 1);
  assert.equal(moved("runner", "koine_job_bytes_total", { kind: "load" }), outside.length);
  assert.ok(sum(after.runner as Map<string, number>, "koine_job_throughput_bytes_per_second", { kind: "load" }) > 0);
  assert.equal(moved("metadata", "koine_nats_served_duration_seconds_count", { subject: "koine.meta.commitFile", code: "OK" }), 1);
  assert.equal(
    moved("metadata", "koine_metadata_inodes"),
    4,
    "the bucket, its object, the directory and the file found in the under-store",
  );
  assert.ok(sum(after.metadata as Map<string, number>, "koine_metadata_lmdb_bytes") > 0);

  // The endpoints answer anyone (scrapers and probes carry no credentials), read-only: no secret or object name in them,
  // anything but their GETs is refused (a 4xx, or the dialect's own answer).
  for (const url of Object.values(endpoints)) {
    const text = await (await fetch(url)).text();
    assert.doesNotMatch(text, /koinesecret|outside\/file|metered\/object/, url);
    for (const method of ["POST", "DELETE", "PUT"]) {
      const status = (await fetch(url, { method, body: method === "DELETE" ? null : "x" })).status;
      // (Under /_koine/ on the S3 port the request falls to S3 itself: a POST on an object is its 501.)
      assert.ok(status >= 400 && status !== 500, `${method} ${url}: ${status}`);
    }
  }
  for (const base of [services.metadata.opsUrl, services.runner.opsUrl]) {
    assert.equal((await fetch(`${base}/api/v1/paths/x/delete`, { method: "POST" })).status, 404, "the ops port serves nothing else");
  }
});
