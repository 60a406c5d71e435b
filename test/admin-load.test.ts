import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { natsCredentials } from "@koine/access";
import { connect } from "@koine/bus";
import { FileSystemClient } from "@koine/client";
import * as jobRunner from "@koine/job-runner";
import { bootCluster } from "@koine/launcher";
import { onCleanup, tempDir, waitFor } from "@koine/testkit";
import { adminCall } from "@koine/testkit/clients";

const KiB = 1024;

test("admin load - 500 files on 3 nodes with 2 replicas, the job runner killed mid-job: every block on its two owners, loaded once", async (t) => {
  const dir = await tempDir(t, "koine-dataset-");
  const sources = new Map<string, Buffer>();
  for (let i = 0; i < 500; i++) {
    const bytes = randomBytes((200 + ((i * 37) % 400)) * KiB);
    const rel = `part-${String(Math.floor(i / 100))}/file-${String(i).padStart(3, "0")}.bin`;
    await mkdir(join(dir, `part-${Math.floor(i / 100)}`), { recursive: true });
    await writeFile(join(dir, rel), bytes);
    sources.set(`/data/${rel}`, bytes);
  }
  const total = [...sources.values()].reduce((sum, b) => sum + b.length, 0);
  const cluster = await bootCluster(t, { cacheNodes: 3, jobRunner: false, cacheCapacityBytes: 1024 * 1024 * 1024, cacheMemoryBytes: 0 });
  const base = cluster.adminUrl;
  const ufs = pathToFileURL(dir).href;
  assert.equal((await adminCall(base, "POST", "/api/v1/mount", { path: "/data", ufs })).status, 200);
  const mounts = (await adminCall(base, "GET", "/api/v1/mount")).json.results as { path: string; ufs: string }[];
  assert.ok(mounts.some((m) => m.path === "/data" && m.ufs === ufs));
  const nodes = (await adminCall(base, "GET", "/api/v1/nodes")).json.results as { id: string; address: string }[];
  assert.deepEqual(nodes.map((n) => n.id).sort(), ["node0", "node1", "node2"]);

  // Submit with no runner up: the job waits in the queue.
  const submitted = await adminCall(base, "POST", "/api/v1/load", {
    paths: [ufs],
    alias: "dataset",
    options: { replicas: 2, batchSize: 20 },
  });
  assert.equal(submitted.status, 200, JSON.stringify(submitted.json));
  const id = submitted.json.id as string;
  assert.equal(submitted.json.alias, "dataset");
  const again = await adminCall(base, "POST", "/api/v1/load", { paths: [ufs], alias: "dataset" });
  assert.equal(again.status, 409, "the same paths: the earlier job");
  assert.equal(again.json.id, id);
  const progress = async () => (await adminCall(base, "GET", `/api/v1/load?id=${id}`)).json;
  assert.equal((await progress()).state, "RUNNING");
  assert.equal((await progress()).loadedBytes, 0);

  // A runner loads part of it, then dies.
  const first = await jobRunner.start({ natsUrl: cluster.natsUrl, clusterKey: cluster.clusterKey });
  await waitFor("the job to be under way", async () => ((await progress()).cursor as number) >= 100, 60_000);
  await first.abort();
  const midway = await progress();
  assert.equal(midway.state, "RUNNING");
  assert.ok((midway.loadedBytes as number) < total, "killed mid-job");

  // The next runner gets the job again (after the queue's ack wait) and finishes it.
  const second = await jobRunner.start({ natsUrl: cluster.natsUrl, clusterKey: cluster.clusterKey });
  onCleanup(t, () => second.stop());
  await waitFor("the job to succeed", async () => (await progress()).state === "SUCCEEDED", 120_000);
  const done = await progress();
  assert.equal(done.scannedFiles, 500);
  assert.equal(done.loadedNonEmptyFiles, 500);
  assert.equal(done.failedFiles ?? 0, 0);
  assert.equal(done.totalBytes, total);
  assert.equal(done.loadedBytes, total, "every file counted once");
  // (The batch the killed runner had under way was loaded but not recorded: the job counts what its runs saw.)
  assert.ok((done.ufsReadBytes as number) <= 2 * total);
  const read = cluster.cacheNodes.reduce((sum, n) => sum + n.stats().ufsReadBytes, 0);
  assert.equal(read, 2 * total, "the cache nodes read nothing twice");
  assert.equal((await adminCall(base, "GET", "/api/v1/load?alias=dataset")).json.id, id);
  assert.ok(((await adminCall(base, "GET", "/api/v1/load")).json.results as { id: string }[]).some((j) => j.id === id));

  // Every block is on exactly its two owners.
  const nc = await connect({ servers: cluster.natsUrl, name: "test", auth: natsCredentials(cluster.clusterKey, "alluxio-admin") });
  onCleanup(t, () => nc.close());
  const client = await FileSystemClient.open({ nc, clusterKey: cluster.clusterKey });
  onCleanup(t, () => client.close());
  for (const path of sources.keys()) {
    const info = await client.stat(path);
    const owners = client.membership.ring.placementFor(FileSystemClient.blockKey(info.contentId, 0), 2);
    for (const node of cluster.cacheNodes) {
      assert.equal(node.engine.store.has(`${info.contentId}/0`), owners.includes(node.id), `${path} on ${node.id}`);
    }
  }
  // Then every read is a cache hit.
  for (const [path, bytes] of sources) {
    const got = await client.read(await client.stat(path));
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(got)) chunks.push(got);
    else for await (const c of got as AsyncIterable<Buffer>) chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(bytes), path);
  }
  assert.equal(
    cluster.cacheNodes.reduce((sum, n) => sum + n.stats().ufsReadBytes, 0),
    read,
    "no read went to the under-store",
  );

  // A finished job cannot be stopped; the same alias again is a new job.
  assert.equal((await adminCall(base, "DELETE", "/api/v1/load", { id })).status, 410);
  const rerun = await adminCall(base, "POST", "/api/v1/load", {
    paths: [ufs],
    alias: "dataset",
    options: { replicas: 2, skipIfExists: true },
  });
  assert.equal(rerun.status, 200);
  assert.notEqual(rerun.json.id, id);
  await waitFor(
    "the second job",
    async () => (await adminCall(base, "GET", `/api/v1/load?id=${rerun.json.id}`)).json.state === "SUCCEEDED",
  );
  const second2 = (await adminCall(base, "GET", `/api/v1/load?id=${rerun.json.id}`)).json;
  assert.equal(second2.skippedFiles, 500, "skipIfExists: all were cached");
  assert.equal(second2.ufsReadBytes ?? 0, 0);
});

test("admin load - stop and resume, index files, filters, and the API's errors", async (t) => {
  const dir = await tempDir(t, "koine-dataset-");
  for (let i = 0; i < 40; i++) await writeFile(join(dir, `f${String(i).padStart(2, "0")}.${i % 2 ? "csv" : "bin"}`), randomBytes(64 * KiB));
  await writeFile(join(dir, "index.txt"), "/data/f00.bin\n/data/f01.csv\n\n/data/f02.bin\n");
  const cluster = await bootCluster(t);
  const base = cluster.adminUrl;
  assert.equal((await adminCall(base, "POST", "/api/v1/mount", { path: "/data", ufs: pathToFileURL(dir).href })).status, 200);
  assert.equal(
    (await adminCall(base, "POST", "/api/v1/mount", { path: "/data", ufs: pathToFileURL(dir).href })).status,
    400,
    "nested under-store",
  );

  // A filter.
  const filtered = await adminCall(base, "POST", "/api/v1/load", { paths: ["/data"], options: { fileFilterRegex: "\\.csv$" } });
  assert.equal(filtered.status, 200);
  const jobOf = async (id: unknown) => (await adminCall(base, "GET", `/api/v1/load?id=${id}`)).json;
  await waitFor("the filtered load", async () => (await jobOf(filtered.json.id)).state === "SUCCEEDED");
  assert.equal((await jobOf(filtered.json.id)).scannedFiles, 20);

  // An index file: the paths it lists.
  const indexed = await adminCall(base, "POST", "/api/v1/load", { index: `${pathToFileURL(dir).href}/index.txt` });
  assert.equal(indexed.status, 200, JSON.stringify(indexed.json));
  await waitFor("the index load", async () => (await jobOf(indexed.json.id)).state === "SUCCEEDED");
  assert.equal((await jobOf(indexed.json.id)).scannedFiles, 3);
  assert.equal(
    (await adminCall(base, "GET", `/api/v1/load?index=${encodeURIComponent(`${pathToFileURL(dir).href}/index.txt`)}`)).json.id,
    indexed.json.id,
  );

  // The global file index: which nodes hold the files added to it.
  assert.equal((await adminCall(base, "POST", "/api/v1/file_index", { paths: ["/data"] })).json.added, 41);
  assert.equal((await adminCall(base, "POST", "/api/v1/file_index", { paths: ["/data/f01.csv"] })).json.added, 0, "there already");
  const index = (await adminCall(base, "GET", "/api/v1/file_index")).json.results as { path: string; cached: boolean; nodes: string[] }[];
  assert.equal(index.length, 41);
  assert.deepEqual(index.find((e) => e.path === "/data/f01.csv")?.nodes, ["node0"], "loaded by the filtered job");
  assert.deepEqual(index.find((e) => e.path === "/data/f04.bin")?.cached, false, "never read");
  assert.equal((await adminCall(base, "POST", "/api/v1/file_index", {})).status, 400);
  assert.equal((await adminCall(base, "DELETE", "/api/v1/file_index", { paths: ["/data/f01.csv"] })).json.removed, 1);

  // Free: every cached page of the files goes, the files stay.
  const node = cluster.cacheNodes[0];
  assert.ok(node && node.stats().pages > 0);
  const freed = await adminCall(base, "POST", "/api/v1/free", { paths: ["/data"], alias: "free-all" });
  assert.equal(freed.status, 200, JSON.stringify(freed.json));
  const freeOf = async () => (await adminCall(base, "GET", "/api/v1/free?alias=free-all")).json;
  await waitFor("the free job", async () => (await freeOf()).state === "SUCCEEDED");
  assert.equal((await freeOf()).freedFiles, 41);
  assert.equal(node.stats().pages, 0);
  assert.equal((await adminCall(base, "GET", `/api/v1/free?id=${filtered.json.id}`)).status, 404, "a load job is not a free job");

  // Stop, then the same submit resumes the job (409 with its id).
  const slow = await adminCall(base, "POST", "/api/v1/load", {
    paths: ["/data"],
    alias: "slow",
    options: { batchSize: 1, bandwidth: 64 * KiB },
  });
  const slowId = slow.json.id;
  await waitFor("the slow job to start", async () => ((await jobOf(slowId)).cursor as number) >= 1);
  const stopped = await adminCall(base, "DELETE", "/api/v1/load", { alias: "slow" });
  assert.equal(stopped.status, 200);
  assert.equal(stopped.json.state, "STOPPED");
  assert.equal((await adminCall(base, "DELETE", "/api/v1/load", { alias: "slow" })).status, 410, "stopped already");
  const cursor = (await jobOf(slowId)).cursor as number;
  assert.ok(cursor < 40);
  const resumed = await adminCall(base, "POST", "/api/v1/load", { paths: ["/data"], alias: "slow" });
  assert.equal(resumed.status, 409);
  assert.equal(resumed.json.id, slowId);
  await waitFor("the job to move on", async () => ((await jobOf(slowId)).cursor as number) > cursor);
  assert.equal((await jobOf(slowId)).state, "RUNNING");
  assert.equal((await adminCall(base, "DELETE", "/api/v1/load", { id: slowId })).status, 200);

  // IF_CHANGED loads the under-store's new version; a file gone from the under-store is a recorded failure.
  await writeFile(join(dir, "f10.bin"), randomBytes(80 * KiB));
  const changed = await adminCall(base, "POST", "/api/v1/load", { paths: ["/data/f10.bin"], options: { loadPolicy: "IF_CHANGED" } });
  await waitFor("the IF_CHANGED load", async () => (await jobOf(changed.json.id)).state === "SUCCEEDED");
  assert.equal((await jobOf(changed.json.id)).loadedBytes, 80 * KiB, "the new version, not the listed one");
  assert.ok(((await jobOf(changed.json.id)).throughput as number) > 0);
  await rm(join(dir, "f12.bin"));
  const failing = await adminCall(base, "POST", "/api/v1/load", { paths: ["/data/f12.bin", "/data/f14.bin"] });
  await waitFor("the failing load", async () => (await jobOf(failing.json.id)).state === "FAILED", 60_000);
  const failed = await jobOf(failing.json.id);
  assert.equal(failed.failedFiles, 1);
  assert.equal(failed.loadedNonEmptyFiles, 1);
  assert.equal((failed.failures as { path: string }[])[0]?.path, "/data/f12.bin");

  // Errors: each with {"status": ...}.
  for (const [body, why] of [
    ["", "no body"],
    ["{not json", "not JSON"],
    [{}, "neither paths nor index"],
    [{ paths: ["/data"], index: "/data/index.txt" }, "both"],
    [{ index: "/data/index.txt", alias: "x" }, "alias without paths"],
    [{ paths: [] }, "no paths"],
    [{ paths: ["s3://not-mounted/x"] }, "not mounted"],
    [{ paths: ["/data"], options: { replicas: 0 } }, "bad option"],
    [{ paths: ["/data"], options: { fileFilterRegex: "(" } }, "bad regex"],
  ] as const) {
    const r = await adminCall(base, "POST", "/api/v1/load", body);
    assert.equal(r.status, 400, why);
    assert.equal(typeof r.json.status, "string");
  }
  assert.equal((await adminCall(base, "GET", "/api/v1/load?id=no-such-job")).status, 404);
  assert.equal((await adminCall(base, "GET", "/api/v1/load?alias=nope")).status, 404);
  assert.equal((await adminCall(base, "GET", "/api/v1/load?alias=a&index=b")).status, 400);
  assert.equal((await adminCall(base, "DELETE", "/api/v1/load", { id: "no-such-job" })).status, 410);
  assert.equal((await adminCall(base, "DELETE", "/api/v1/load", {})).status, 400);
  assert.equal((await adminCall(base, "DELETE", "/api/v1/mount", { path: "/not-a-mount" })).status, 404);
  // Unmounted, the files are gone from the namespace.
  assert.equal((await adminCall(base, "DELETE", "/api/v1/mount", { path: "/data" })).status, 200);
});
