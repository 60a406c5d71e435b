import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import * as jobRunner from "@koine/job-runner";
import { bootCluster } from "@koine/launcher";
import { onCleanup, waitFor } from "@koine/testkit";
import { alluxioCall, alluxioOk, alluxioRead, alluxioWrite, s3Client } from "@koine/testkit/clients";

const MiB = 1024 * 1024;

const inUfs = (home: string, path: string) => readFile(join(home, "ufs", path)).catch(() => undefined);

test("write types - THROUGH, CACHE_THROUGH and MUST_CACHE put the bytes where they promise; read types", async (t) => {
  const cluster = await bootCluster(t, { pageSize: MiB, cacheCapacityBytes: 16 * MiB, cacheMemoryBytes: 0 });
  const base = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  await alluxioOk(base, "/wt/create-directory");

  const through = randomBytes(2 * MiB + 1);
  let before = node.stats().pages;
  await alluxioWrite(base, "/wt/through.bin", through, { writeType: "THROUGH" });
  assert.ok((await inUfs(cluster.home, "wt/through.bin"))?.equals(through), "THROUGH: in the under-store on return");
  assert.equal(node.stats().pages, before, "THROUGH: nothing cached");
  assert.equal((await alluxioOk(base, "/wt/through.bin/get-status")).persistenceState, "PERSISTED");

  const cached = randomBytes(2 * MiB + 2);
  before = node.stats().pages;
  await alluxioWrite(base, "/wt/cached.bin", cached, { writeType: "CACHE_THROUGH" });
  assert.ok((await inUfs(cluster.home, "wt/cached.bin"))?.equals(cached), "CACHE_THROUGH: in the under-store on return");
  assert.equal(node.stats().pages, before + 3, "CACHE_THROUGH: cached too");

  // Read types: NO_CACHE reads the under-store and keeps nothing; CACHE keeps what it reads.
  before = node.stats().pages;
  assert.ok((await alluxioRead(base, "/wt/through.bin", { readType: "NO_CACHE" })).equals(through));
  assert.equal(node.stats().pages, before, "NO_CACHE keeps no page");
  assert.ok((await alluxioRead(base, "/wt/through.bin", { readType: "CACHE" })).equals(through));
  await waitFor("CACHE to keep the pages", async () => node.stats().pages === before + 3);
  assert.equal((await alluxioCall(base, "/wt/through.bin/open-file", { readType: "SOMETIMES" })).code, "INVALID_ARGUMENT");

  const only = randomBytes(3 * MiB + 3);
  await alluxioWrite(base, "/wt/only.bin", only, { writeType: "MUST_CACHE" });
  assert.equal(await inUfs(cluster.home, "wt/only.bin"), undefined, "MUST_CACHE: not in the under-store");
  const status = await alluxioOk(base, "/wt/only.bin/get-status");
  assert.equal(status.persistenceState, "NOT_PERSISTED");
  assert.equal(status.persisted, false);
  assert.ok((await alluxioRead(base, "/wt/only.bin")).equals(only));
  const s3 = s3Client(cluster.s3Url);
  const got = await s3.send(new GetObjectCommand({ Bucket: "wt", Key: "only.bin" }));
  assert.ok(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(only));
  assert.equal((await alluxioCall(base, "/wt/only.bin/free")).code, "FAILED_PRECONDITION", "bytes only in the cache cannot be freed");

  // Pinned and unpersisted pages survive a cache flooded far past its capacity.
  await alluxioOk(base, "/wt/cached.bin/set-attribute", { pinned: true });
  assert.equal((await alluxioOk(base, "/wt/cached.bin/get-status")).pinned, true);
  assert.equal((await alluxioCall(base, "/wt/cached.bin/free")).code, "FAILED_PRECONDITION", "a pinned file is not freed");
  for (let i = 0; i < 4; i++) await alluxioWrite(base, `/wt/flood${i}.bin`, randomBytes(5 * MiB), { writeType: "CACHE_THROUGH" });
  for (let i = 0; i < 4; i++) await alluxioRead(base, `/wt/flood${i}.bin`);
  assert.ok(node.stats().evictedPages > 0, "the flood evicted pages");
  assert.ok((await alluxioRead(base, "/wt/only.bin")).equals(only), "MUST_CACHE bytes were not evicted");
  const pinnedBefore = node.stats().ufsReadBytes;
  assert.ok((await alluxioRead(base, "/wt/cached.bin")).equals(cached));
  assert.equal(node.stats().ufsReadBytes, pinnedBefore, "the pinned file is still all in the cache");

  // Unpinned, it may go; free drops its pages and keeps the file.
  await alluxioOk(base, "/wt/cached.bin/set-attribute", { pinned: false });
  await alluxioOk(base, "/wt/cached.bin/free");
  const freedBefore = node.stats().ufsReadBytes;
  assert.ok((await alluxioRead(base, "/wt/cached.bin")).equals(cached));
  assert.ok(node.stats().ufsReadBytes >= freedBefore + cached.length, "read again from the under-store after free");

  // Deleting a cache-only file removes it; the under-store never had it.
  await alluxioOk(base, "/wt/only.bin/delete");
  assert.equal(await alluxioOk(base, "/wt/only.bin/exists"), false);
});

test("write types - ASYNC_THROUGH is persisted by a job, also when no job runner was up at write time", async (t) => {
  const cluster = await bootCluster(t, { jobRunner: false });
  const base = cluster.alluxioUrl;
  const bytes = randomBytes(MiB + 5);
  await alluxioWrite(base, "/async/later.bin", bytes, { writeType: "ASYNC_THROUGH", recursive: true });
  assert.equal((await alluxioOk(base, "/async/later.bin/get-status")).persistenceState, "TO_BE_PERSISTED");
  assert.ok((await alluxioRead(base, "/async/later.bin")).equals(bytes), "readable from the cache at once");
  await sleep(500);
  assert.equal(await inUfs(cluster.home, "async/later.bin"), undefined, "no runner, no persisting");

  // A runner that starts and stops before doing anything leaves the job queued.
  const first = await jobRunner.start({ natsUrl: cluster.natsUrl, clusterKey: cluster.clusterKey });
  await first.stop();
  const runner = await jobRunner.start({ natsUrl: cluster.natsUrl, clusterKey: cluster.clusterKey });
  onCleanup(t, () => runner.stop());
  await waitFor(
    "the file to be persisted",
    async () => (await alluxioOk(base, "/async/later.bin/get-status")).persistenceState === "PERSISTED",
  );
  assert.ok((await inUfs(cluster.home, "async/later.bin"))?.equals(bytes), "persisted bytes are the written bytes");
  assert.ok((await alluxioRead(base, "/async/later.bin")).equals(bytes));

  // Written while the runner runs: persisted within a bounded time; renamed meanwhile, persisted where it is now.
  const more = randomBytes(2 * MiB);
  await alluxioWrite(base, "/async/soon.bin", more, { writeType: "ASYNC_THROUGH" });
  await alluxioOk(base, "/async/soon.bin/rename?dst=%2Fasync%2Fmoved.bin");
  await waitFor(
    "the moved file to be persisted",
    async () => (await alluxioOk(base, "/async/moved.bin/get-status")).persistenceState === "PERSISTED",
  );
  assert.ok((await inUfs(cluster.home, "async/moved.bin"))?.equals(more));
  await assert.rejects(stat(join(cluster.home, "ufs", "async", "soon.bin")), { code: "ENOENT" });
});

test("ttl - DELETE removes the file (and its under-store copy), FREE drops its cached pages and keeps it", async (t) => {
  const cluster = await bootCluster(t, { pageSize: MiB, ttlCheckMs: 100 });
  const base = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  await alluxioWrite(base, "/ttl/short.txt", Buffer.from("short-lived"), { recursive: true, ttl: 300, ttlAction: "DELETE" });
  const status = await alluxioOk(base, "/ttl/short.txt/get-status");
  assert.equal(status.ttl, 300);
  assert.equal(status.ttlAction, "DELETE");
  assert.ok(await inUfs(cluster.home, "ttl/short.txt"));
  await waitFor("the file to expire", async () => ((await alluxioOk(base, "/ttl/short.txt/exists")) as unknown as boolean) === false);
  assert.equal(await inUfs(cluster.home, "ttl/short.txt"), undefined);

  const bytes = randomBytes(2 * MiB);
  await alluxioWrite(base, "/ttl/cached.bin", bytes, {});
  await alluxioOk(base, "/ttl/cached.bin/set-attribute", { ttl: 200, ttlAction: "FREE" });
  await waitFor("the TTL to be cleared", async () => (await alluxioOk(base, "/ttl/cached.bin/get-status")).ttl === -1);
  await sleep(200); // the free event reaches the node
  const before = node.stats().ufsReadBytes;
  assert.ok((await alluxioRead(base, "/ttl/cached.bin")).equals(bytes));
  assert.ok(node.stats().ufsReadBytes >= before + bytes.length, "freed pages are read from the under-store again");
  assert.equal((await alluxioCall(base, "/ttl/cached.bin/set-attribute", { ttl: "soon" })).code, "INVALID_ARGUMENT");
});
