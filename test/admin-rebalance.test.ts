import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { natsCredentials } from "@koine/access";
import { connect } from "@koine/bus";
import * as cacheNode from "@koine/cache-node";
import { FileSystemClient } from "@koine/client";
import { bootCluster } from "@koine/launcher";
import { onCleanup, tempDir, waitFor } from "@koine/testkit";
import { adminCall, s3Client } from "@koine/testkit/clients";

test("admin rebalance - a fourth node joins, then one is decommissioned: only the blocks whose owner changed move, reads stay right throughout", async (t) => {
  const dir = await tempDir(t, "koine-rebalance-");
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 300; i++) {
    const bytes = randomBytes(32 * 1024 + i);
    await writeFile(join(dir, `f${String(i).padStart(3, "0")}`), bytes);
    files.set(`f${String(i).padStart(3, "0")}`, bytes);
  }
  const cluster = await bootCluster(t, { cacheNodes: 3 });
  const base = cluster.adminUrl;
  assert.equal((await adminCall(base, "POST", "/api/v1/mount", { path: "/set", ufs: pathToFileURL(dir).href })).status, 200);
  const loaded = await adminCall(base, "POST", "/api/v1/load", { paths: ["/set"] });
  await waitFor(
    "the load",
    async () => (await adminCall(base, "GET", `/api/v1/load?id=${loaded.json.id}`)).json.state === "SUCCEEDED",
    60_000,
  );

  const fourth = await cacheNode.start({
    natsUrl: cluster.natsUrl,
    clusterKey: cluster.clusterKey,
    nodeId: "node3",
    dataDir: await tempDir(t, "koine-node3-"),
    host: "127.0.0.1",
    port: 0,
    advertiseHost: "127.0.0.1",
    capacityBytes: 1024 ** 3,
    memoryBytes: 0,
    pageSize: cacheNode.DEFAULT_PAGE_SIZE,
  });
  onCleanup(t, () => fourth.stop());
  await waitFor("four nodes", async () => ((await adminCall(base, "GET", "/api/v1/nodes")).json.results as unknown[]).length === 4);

  // Readers all along.
  const s3 = s3Client(cluster.s3Url);
  let reading = true;
  let reads = 0;
  const readers = Promise.all(
    [0, 1].map(async (r) => {
      for (let i = r; reading; i = (i + 7) % 300) {
        const key = `f${String(i).padStart(3, "0")}`;
        const got = await s3.send(new GetObjectCommand({ Bucket: "set", Key: key }));
        const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
        assert.ok(bytes.equals(files.get(key) as Buffer), key);
        reads++;
      }
    }),
  );

  const started = await adminCall(base, "POST", "/api/v1/rebalance", { target: "ALL", options: { loadBatchSize: 50 } });
  assert.equal(started.status, 200, JSON.stringify(started.json));
  const job = async () => (await adminCall(base, "GET", `/api/v1/rebalance?id=${started.json.id}`)).json;
  await waitFor("the rebalance", async () => (await job()).state === "SUCCEEDED", 60_000);
  reading = false;
  await readers;
  assert.ok(reads > 0);
  const done = await job();
  assert.equal(done.cachedBlocks, 300);
  const moved = done.movedBlocks as number;
  assert.ok(moved > 300 * 0.15 && moved < 300 * 0.35, `moved ${moved} of 300 blocks`);
  // Each moved block left its former node (a reader may have brought a block to its new owner first: pruned, not moved).
  assert.ok((done.prunedBlocks as number) >= moved && (done.prunedBlocks as number) <= moved + 20, `pruned ${done.prunedBlocks}`);
  assert.equal((await adminCall(base, "GET", "/api/v1/rebalance?target=ALL")).json.id, started.json.id);

  // Every block is now on its owner only.
  const nc = await connect({ servers: cluster.natsUrl, name: "test", auth: natsCredentials(cluster.clusterKey, "alluxio-admin") });
  onCleanup(t, () => nc.close());
  const client = await FileSystemClient.open({ nc, clusterKey: cluster.clusterKey });
  onCleanup(t, () => client.close());
  await waitFor("the client to see four nodes", () => client.membership.members().length === 4);
  const engines = new Map([...cluster.cacheNodes, fourth].map((n) => [n.id, n.engine] as const));
  for (const name of files.keys()) {
    const info = await client.stat(`/set/${name}`);
    const [owner] = client.membership.ring.placementFor(FileSystemClient.blockKey(info.contentId, 0));
    for (const [id, engine] of engines) assert.equal(engine.store.has(`${info.contentId}/0`), id === owner, `${name} on ${id}`);
  }

  // Decommission node1 under reads: its blocks go to their new owners, then it leaves.
  reading = true;
  const again = Promise.all(
    [0, 1].map(async (r) => {
      for (let i = r; reading; i = (i + 11) % 300) {
        const key = `f${String(i).padStart(3, "0")}`;
        const got = await s3.send(new GetObjectCommand({ Bucket: "set", Key: key }));
        assert.ok(
          Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(
            files.get(key) as Buffer,
          ),
        );
      }
    }),
  );
  const leaving = await adminCall(base, "DELETE", "/api/v1/nodes", { id: "node1" });
  assert.equal(leaving.status, 200, JSON.stringify(leaving.json));
  const decommission = async () => (await adminCall(base, "GET", `/api/v1/rebalance?id=${leaving.json.id}`)).json;
  await waitFor("the decommissioning", async () => (await decommission()).state === "SUCCEEDED", 60_000);
  await waitFor("node1 to leave", async () =>
    ((await adminCall(base, "GET", "/api/v1/nodes")).json.results as { id: string }[]).every((n) => n.id !== "node1"),
  );
  reading = false;
  await again;
  assert.ok(((await decommission()).movedBlocks as number) > 0);
  await waitFor("the client to see three nodes", () => client.membership.members().length === 3);
  for (const name of files.keys()) {
    const info = await client.stat(`/set/${name}`);
    const [owner] = client.membership.ring.placementFor(FileSystemClient.blockKey(info.contentId, 0));
    assert.notEqual(owner, "node1");
    assert.ok(engines.get(owner as string)?.store.has(`${info.contentId}/0`), `${name} on its new owner ${owner}`);
    assert.equal(engines.get("node1")?.store.has(`${info.contentId}/0`), false, `${name} left node1`);
  }
  assert.equal((await adminCall(base, "DELETE", "/api/v1/nodes", { id: "node1" })).status, 404, "gone");

  // Clear stale cache: nothing is stale now.
  const cleared = await adminCall(base, "POST", "/api/v1/cache", {});
  assert.equal(cleared.status, 200);
  assert.deepEqual(cleared.json.errors, {});
  await waitFor(
    "the clearing",
    async () => (await adminCall(base, "GET", `/api/v1/rebalance?id=${cleared.json.id}`)).json.state === "SUCCEEDED",
  );
  assert.equal((await adminCall(base, "GET", `/api/v1/rebalance?id=${cleared.json.id}`)).json.prunedBlocks ?? 0, 0);

  // Errors.
  assert.equal((await adminCall(base, "POST", "/api/v1/rebalance", {})).status, 400);
  assert.equal((await adminCall(base, "POST", "/api/v1/rebalance", { target: "node9" })).status, 400);
  assert.equal((await adminCall(base, "GET", "/api/v1/rebalance?id=nope")).status, 404);
  assert.equal((await adminCall(base, "DELETE", "/api/v1/rebalance", { id: "nope" })).status, 410);
});
