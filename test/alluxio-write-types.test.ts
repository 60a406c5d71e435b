import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import * as jobRunner from "@koine/job-runner";
import { bootCluster, onCleanup, s3Client } from "@koine/testkit";

const MiB = 1024 * 1024;

async function alluxio(base: string, path: string, body?: unknown): Promise<{ status: number; code?: string; value: unknown }> {
  const res = await fetch(`${base}/api/v1/paths/${path}`, {
    method: "POST",
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await res.text();
  const value: unknown = text === "" ? undefined : JSON.parse(text);
  if (res.status !== 200) return { status: res.status, code: (value as { statusCode: string }).statusCode, value };
  return { status: 200, value };
}

async function ok(base: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await alluxio(base, path, body);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.value)}`);
  return r.value as Record<string, unknown>;
}

async function write(base: string, path: string, bytes: Buffer, options: unknown): Promise<void> {
  const id = (await ok(base, `/${path}/create-file`, options)) as unknown as number;
  assert.equal((await fetch(`${base}/api/v1/streams/${id}/write`, { method: "POST", body: bytes })).status, 200);
  const close = await fetch(`${base}/api/v1/streams/${id}/close`, { method: "POST" });
  assert.equal(close.status, 200, await close.text());
}

async function read(base: string, path: string, options: unknown = {}): Promise<Buffer> {
  const id = (await ok(base, `/${path}/open-file`, options)) as unknown as number;
  const res = await fetch(`${base}/api/v1/streams/${id}/read`, { method: "POST" });
  assert.equal(res.status, 200);
  await fetch(`${base}/api/v1/streams/${id}/close`, { method: "POST" });
  return Buffer.from(await res.arrayBuffer());
}

const inUfs = (home: string, path: string) => readFile(join(home, "ufs", path)).catch(() => undefined);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test("write types - THROUGH, CACHE_THROUGH and MUST_CACHE put the bytes where they promise; read types", async (t) => {
  const cluster = await bootCluster(t, { pageSize: MiB, cacheCapacityBytes: 16 * MiB, cacheMemoryBytes: 0 });
  const base = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  await ok(base, "/wt/create-directory");

  const through = randomBytes(2 * MiB + 1);
  let before = node.stats().pages;
  await write(base, "/wt/through.bin", through, { writeType: "THROUGH" });
  assert.ok((await inUfs(cluster.home, "wt/through.bin"))?.equals(through), "THROUGH: in the under-store on return");
  assert.equal(node.stats().pages, before, "THROUGH: nothing cached");
  assert.equal((await ok(base, "/wt/through.bin/get-status")).persistenceState, "PERSISTED");

  const cached = randomBytes(2 * MiB + 2);
  before = node.stats().pages;
  await write(base, "/wt/cached.bin", cached, { writeType: "CACHE_THROUGH" });
  assert.ok((await inUfs(cluster.home, "wt/cached.bin"))?.equals(cached), "CACHE_THROUGH: in the under-store on return");
  assert.equal(node.stats().pages, before + 3, "CACHE_THROUGH: cached too");

  // Read types: NO_CACHE reads the under-store and keeps nothing; CACHE keeps what it reads.
  before = node.stats().pages;
  assert.ok((await read(base, "/wt/through.bin", { readType: "NO_CACHE" })).equals(through));
  assert.equal(node.stats().pages, before, "NO_CACHE keeps no page");
  assert.ok((await read(base, "/wt/through.bin", { readType: "CACHE" })).equals(through));
  await waitFor("CACHE to keep the pages", async () => node.stats().pages === before + 3);
  assert.equal((await alluxio(base, "/wt/through.bin/open-file", { readType: "SOMETIMES" })).code, "INVALID_ARGUMENT");

  const only = randomBytes(3 * MiB + 3);
  await write(base, "/wt/only.bin", only, { writeType: "MUST_CACHE" });
  assert.equal(await inUfs(cluster.home, "wt/only.bin"), undefined, "MUST_CACHE: not in the under-store");
  const status = await ok(base, "/wt/only.bin/get-status");
  assert.equal(status.persistenceState, "NOT_PERSISTED");
  assert.equal(status.persisted, false);
  assert.ok((await read(base, "/wt/only.bin")).equals(only));
  const s3 = s3Client(cluster.s3Url);
  const got = await s3.send(new GetObjectCommand({ Bucket: "wt", Key: "only.bin" }));
  assert.ok(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(only));
  assert.equal((await alluxio(base, "/wt/only.bin/free")).code, "FAILED_PRECONDITION", "bytes only in the cache cannot be freed");

  // Pinned and unpersisted pages survive a cache flooded far past its capacity.
  await ok(base, "/wt/cached.bin/set-attribute", { pinned: true });
  assert.equal((await ok(base, "/wt/cached.bin/get-status")).pinned, true);
  assert.equal((await alluxio(base, "/wt/cached.bin/free")).code, "FAILED_PRECONDITION", "a pinned file is not freed");
  for (let i = 0; i < 4; i++) await write(base, `/wt/flood${i}.bin`, randomBytes(5 * MiB), { writeType: "CACHE_THROUGH" });
  for (let i = 0; i < 4; i++) await read(base, `/wt/flood${i}.bin`);
  assert.ok(node.stats().evictedPages > 0, "the flood evicted pages");
  assert.ok((await read(base, "/wt/only.bin")).equals(only), "MUST_CACHE bytes were not evicted");
  const pinnedBefore = node.stats().ufsReadBytes;
  assert.ok((await read(base, "/wt/cached.bin")).equals(cached));
  assert.equal(node.stats().ufsReadBytes, pinnedBefore, "the pinned file is still all in the cache");

  // Unpinned, it may go; free drops its pages and keeps the file.
  await ok(base, "/wt/cached.bin/set-attribute", { pinned: false });
  await ok(base, "/wt/cached.bin/free");
  const freedBefore = node.stats().ufsReadBytes;
  assert.ok((await read(base, "/wt/cached.bin")).equals(cached));
  assert.ok(node.stats().ufsReadBytes >= freedBefore + cached.length, "read again from the under-store after free");

  // Deleting a cache-only file removes it; the under-store never had it.
  await ok(base, "/wt/only.bin/delete");
  assert.equal(await ok(base, "/wt/only.bin/exists"), false);
});

test("write types - ASYNC_THROUGH is persisted by a job, also when no job runner was up at write time", async (t) => {
  const cluster = await bootCluster(t, { jobRunner: false });
  const base = cluster.alluxioUrl;
  const bytes = randomBytes(MiB + 5);
  await write(base, "/async/later.bin", bytes, { writeType: "ASYNC_THROUGH", recursive: true });
  assert.equal((await ok(base, "/async/later.bin/get-status")).persistenceState, "TO_BE_PERSISTED");
  assert.ok((await read(base, "/async/later.bin")).equals(bytes), "readable from the cache at once");
  await sleep(500);
  assert.equal(await inUfs(cluster.home, "async/later.bin"), undefined, "no runner, no persisting");

  // A runner that starts and stops before doing anything leaves the job queued.
  const first = await jobRunner.start({ natsUrl: cluster.natsUrl });
  await first.stop();
  const runner = await jobRunner.start({ natsUrl: cluster.natsUrl });
  onCleanup(t, () => runner.stop());
  await waitFor("the file to be persisted", async () => (await ok(base, "/async/later.bin/get-status")).persistenceState === "PERSISTED");
  assert.ok((await inUfs(cluster.home, "async/later.bin"))?.equals(bytes), "persisted bytes are the written bytes");
  assert.ok((await read(base, "/async/later.bin")).equals(bytes));

  // Written while the runner runs: persisted within a bounded time; renamed meanwhile, persisted where it is now.
  const more = randomBytes(2 * MiB);
  await write(base, "/async/soon.bin", more, { writeType: "ASYNC_THROUGH" });
  await ok(base, "/async/soon.bin/rename?dst=%2Fasync%2Fmoved.bin");
  await waitFor(
    "the moved file to be persisted",
    async () => (await ok(base, "/async/moved.bin/get-status")).persistenceState === "PERSISTED",
  );
  assert.ok((await inUfs(cluster.home, "async/moved.bin"))?.equals(more));
  await assert.rejects(stat(join(cluster.home, "ufs", "async", "soon.bin")), { code: "ENOENT" });
});

test("ttl - DELETE removes the file (and its under-store copy), FREE drops its cached pages and keeps it", async (t) => {
  const cluster = await bootCluster(t, { pageSize: MiB, ttlCheckMs: 100 });
  const base = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  await write(base, "/ttl/short.txt", Buffer.from("short-lived"), { recursive: true, ttl: 300, ttlAction: "DELETE" });
  const status = await ok(base, "/ttl/short.txt/get-status");
  assert.equal(status.ttl, 300);
  assert.equal(status.ttlAction, "DELETE");
  assert.ok(await inUfs(cluster.home, "ttl/short.txt"));
  await waitFor("the file to expire", async () => ((await ok(base, "/ttl/short.txt/exists")) as unknown as boolean) === false);
  assert.equal(await inUfs(cluster.home, "ttl/short.txt"), undefined);

  const bytes = randomBytes(2 * MiB);
  await write(base, "/ttl/cached.bin", bytes, {});
  await ok(base, "/ttl/cached.bin/set-attribute", { ttl: 200, ttlAction: "FREE" });
  await waitFor("the TTL to be cleared", async () => (await ok(base, "/ttl/cached.bin/get-status")).ttl === -1);
  await sleep(200); // the free event reaches the node
  const before = node.stats().ufsReadBytes;
  assert.ok((await read(base, "/ttl/cached.bin")).equals(bytes));
  assert.ok(node.stats().ufsReadBytes >= before + bytes.length, "freed pages are read from the under-store again");
  assert.equal((await alluxio(base, "/ttl/cached.bin/set-attribute", { ttl: "soon" })).code, "INVALID_ARGUMENT");
});
