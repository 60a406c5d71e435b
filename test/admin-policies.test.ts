import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { bootCluster } from "@koine/launcher";
import { tempDir, waitFor } from "@koine/testkit";
import { adminCall, alluxioOk, alluxioRead } from "@koine/testkit/clients";

const KiB = 1024;
const PAGE = 64 * KiB;

/** A mounted directory of files (name → bytes) at `at`. */
async function mountFiles(t: Parameters<typeof tempDir>[0], base: string, at: string, files: Record<string, Buffer>, properties = {}) {
  const dir = await tempDir(t, "koine-policy-");
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
  const r = await adminCall(base, "POST", "/api/v1/mount", { path: at, ufs: pathToFileURL(dir).href, options: properties });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return dir;
}

test("policies - TTL, quota and cache filters (skipCache, maxAge, immutable) are enforced", async (t) => {
  const cluster = await bootCluster(t, { pageSize: PAGE, policyCheckMs: 100, cacheMemoryBytes: 0 });
  const base = cluster.adminUrl;
  const proxy = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  const bytes = (n: number) => randomBytes(n * PAGE);
  const files = { "ttl/a": bytes(2), "keep/b": bytes(2), "q/1": bytes(2), "q/2": bytes(2), "q/3": bytes(2), "skip/s": bytes(2) };
  await mountFiles(t, base, "/p", files);

  // TTL: pages under /p/ttl go 300 ms after they were cached; others stay.
  assert.equal((await adminCall(base, "POST", "/api/v1/ttl", { path: "/p/ttl", time: "300ms" })).status, 200);
  await waitFor("the node to learn the TTL", () => node.engine.policies?.ttlMsFor("/p/ttl/a") === 300);
  // /p/keep/b first: /p/ttl/a's pages may go 300 ms after they came, however long the other read takes.
  assert.ok((await alluxioRead(proxy, "/p/keep/b")).equals(files["keep/b"]));
  assert.ok((await alluxioRead(proxy, "/p/ttl/a")).equals(files["ttl/a"]));
  await waitFor("4 pages", () => node.stats().pages === 4);
  await waitFor("the TTL to evict /p/ttl/a", () => node.stats().pages === 2, 5_000);
  const before = node.stats().ufsReadBytes;
  assert.ok((await alluxioRead(proxy, "/p/keep/b")).equals(files["keep/b"]));
  assert.equal(node.stats().ufsReadBytes, before, "/p/keep/b is still cached");
  assert.deepEqual(
    ((await adminCall(base, "GET", "/api/v1/ttl")).json.results as { path: string; ttlMs: number }[]).map((p) => [p.path, p.ttlMs]),
    [["/p/ttl", 300]],
  );
  assert.equal((await adminCall(base, "DELETE", "/api/v1/ttl", { path: "/p/ttl" })).status, 200);
  assert.equal((await adminCall(base, "DELETE", "/api/v1/ttl", { path: "/p/ttl" })).status, 404);

  // Quota: no more than 4 pages under /p/q on the node, however much is read there.
  assert.equal((await adminCall(base, "POST", "/api/v1/quota", { path: "/p/q", size: `${4 * PAGE}` })).status, 200);
  await waitFor("the node to learn the quota", () => node.engine.policies?.quotaFor("/p/q/1")?.bytes === 4 * PAGE);
  const usedBefore = node.stats().usedBytes;
  for (const name of ["q/1", "q/2", "q/3"] as const) assert.ok((await alluxioRead(proxy, `/p/${name}`)).equals(files[name]));
  await node.engine.drain();
  assert.ok(node.stats().usedBytes - usedBefore <= 4 * PAGE, `cached under the quota: ${node.stats().usedBytes - usedBefore}`);
  assert.ok((await alluxioRead(proxy, "/p/q/1")).equals(files["q/1"]), "reads stay right");

  // skipCache: read through, nothing kept.
  assert.equal((await adminCall(base, "POST", "/api/v1/cache-filter", { pattern: "^/p/skip/", type: "skipCache" })).status, 200);
  await waitFor("the node to learn the filter", () => node.engine.policies?.filterFor("/p/skip/s")?.filter === "skipCache");
  await node.engine.drain();
  const pages = node.stats().pages;
  assert.ok((await alluxioRead(proxy, "/p/skip/s")).equals(files["skip/s"]));
  await node.engine.drain();
  assert.equal(node.stats().pages, pages, "skipCache keeps no page");

  // maxAge and immutable: how long metadata is trusted.
  const age = await mountFiles(
    t,
    base,
    "/m",
    { "age/f": Buffer.from("one"), "fixed/f": Buffer.from("one") },
    {
      "alluxio.user.file.metadata.sync.interval": "1h",
    },
  );
  const fixed = await mountFiles(t, base, "/i", { "fixed/f": Buffer.from("one") }, { "alluxio.user.file.metadata.sync.interval": "0" });
  assert.equal((await adminCall(base, "POST", "/api/v1/cache-filter", { pattern: "^/m/age/", type: "maxAge", time: "200ms" })).status, 200);
  assert.equal((await adminCall(base, "POST", "/api/v1/cache-filter", { pattern: "^/i/fixed/", type: "immutable" })).status, 200);
  const length = async (path: string) => (await alluxioOk(proxy, `/${path}/get-status`)).length;
  assert.equal(await length("/m/age/f"), 3);
  assert.equal(await length("/m/fixed/f"), 3);
  assert.equal(await length("/i/fixed/f"), 3);
  await writeFile(join(age, "age", "f"), "longer now");
  await writeFile(join(age, "fixed", "f"), "longer now");
  await writeFile(join(fixed, "fixed", "f"), "longer now");
  await sleep(300);
  assert.equal(await length("/m/age/f"), 10, "maxAge 200ms: checked again");
  assert.equal(await length("/m/fixed/f"), 3, "the mount's 1h: not yet");
  assert.equal(await length("/i/fixed/f"), 3, "immutable: never checked again, though the mount says always");

  // Bad requests.
  assert.equal((await adminCall(base, "POST", "/api/v1/quota", { path: "/p" })).status, 400);
  assert.equal((await adminCall(base, "POST", "/api/v1/ttl", { path: "/p", time: "soon" })).status, 400);
  assert.equal((await adminCall(base, "POST", "/api/v1/priority", { path: "/p", priority: "URGENT" })).status, 400);
  assert.equal((await adminCall(base, "POST", "/api/v1/cache-filter", { pattern: "(", type: "skipCache" })).status, 400);
  assert.equal((await adminCall(base, "POST", "/api/v1/cache-filter", { pattern: "x", type: "maxAge" })).status, 400);
  assert.equal((await adminCall(base, "DELETE", "/api/v1/quota", { path: "/nowhere" })).status, 404);
});

test("policies - priority: LOW pages are evicted before older HIGH ones", async (t) => {
  const cluster = await bootCluster(t, { pageSize: PAGE, cacheCapacityBytes: 8 * PAGE, cacheMemoryBytes: 0 });
  const base = cluster.adminUrl;
  const proxy = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  const files = { "high/h": randomBytes(4 * PAGE), "low/l": randomBytes(4 * PAGE), "mid/m": randomBytes(2 * PAGE) };
  await mountFiles(t, base, "/r", files);
  assert.equal((await adminCall(base, "POST", "/api/v1/priority", { path: "/r/high", priority: "HIGH" })).status, 200);
  assert.equal((await adminCall(base, "POST", "/api/v1/priority", { path: "/r/low", priority: "LOW" })).status, 200);
  await alluxioRead(proxy, "/r/high/h"); // the oldest: plain LRU would evict it first
  await alluxioRead(proxy, "/r/low/l");
  await waitFor("a full cache", () => node.stats().pages === 8);
  await alluxioRead(proxy, "/r/mid/m");
  await sleep(100);
  const before = node.stats().ufsReadBytes;
  assert.ok((await alluxioRead(proxy, "/r/high/h")).equals(files["high/h"]));
  assert.equal(node.stats().ufsReadBytes, before, "HIGH stayed cached");
  assert.ok((await alluxioRead(proxy, "/r/low/l")).equals(files["low/l"]));
  assert.ok(node.stats().ufsReadBytes > before, "LOW was evicted");
  assert.deepEqual(
    ((await adminCall(base, "GET", "/api/v1/priority")).json.results as { path: string; priority: string }[]).map((p) => [
      p.path,
      p.priority,
    ]),
    [
      ["/r/high", "HIGH"],
      ["/r/low", "LOW"],
    ],
  );
});
