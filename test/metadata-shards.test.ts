import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { connect, request, startNatsServer } from "@koine/bus";
import { ServiceProcess } from "@koine/launcher";
import { Meta, rendezvousOrder, shardEndpoint, shardOf } from "@koine/protocol";
import { freePorts, onCleanup, tempDir, waitFor } from "@koine/testkit";
import { adminCall, alluxioCall, metadataReplicaState, missingOrWrong, resumedAfter, S3Load, s3Client } from "@koine/testkit/clients";

/**
 * Metadata shards (issue 16): the namespace split by top-level directory,
 * each shard with its own journal, lease and leader, leaders spread over
 * the metadata processes by rendezvous hashing.
 */

/** Two replica names each of two shards prefers a different one of: each process leads one shard. */
function spreadNames(): [string, string] {
  for (let i = 0; ; i++) {
    const names: [string, string] = [`shards-a${i}`, `shards-b${i}`];
    if (rendezvousOrder(0, names)[0] !== rendezvousOrder(1, names)[0]) {
      return [rendezvousOrder(0, names)[0] as string, rendezvousOrder(1, names)[0] as string];
    }
  }
}

test("metadata shards - two shards on two processes: buckets spread over both, each process leads its own; ListBuckets merges; a rename across shards is refused; the other shard stays available while one shard's leader is killed", async (t) => {
  const home = await tempDir(t, "koine-shards-");
  const [natsPort, s3Port, cachePort, alluxioPort, adminPort] = (await freePorts(5)) as [number, number, number, number, number];
  const nats = await startNatsServer({ storeDir: join(home, "nats"), port: natsPort });
  const base = { KOINE_HOME: home, KOINE_NATS_URL: nats.url, KOINE_METADATA_SHARDS: "2" };
  // Process k is the one shard k prefers.
  const names = spreadNames();
  const processes: ServiceProcess[] = [];
  for (const [k, name] of names.entries()) {
    const dir = join(home, `metadata-${k}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "replica-id"), name);
    processes.push(new ServiceProcess("metadata", { ...base, KOINE_METADATA_DIR: dir }));
  }
  const others = [
    new ServiceProcess("cache-node", { ...base, KOINE_NODE_ID: "node0", KOINE_CACHE_PORT: String(cachePort) }),
    new ServiceProcess("s3-gateway", { ...base, KOINE_S3_PORT: String(s3Port) }),
    new ServiceProcess("alluxio-proxy", { ...base, KOINE_ALLUXIO_PORT: String(alluxioPort) }),
    new ServiceProcess("alluxio-admin", { ...base, KOINE_ADMIN_PORT: String(adminPort) }),
  ];
  let finished = false;
  onCleanup(t, async () => {
    if (!finished)
      for (const p of processes) console.error(`--- ${p.env.KOINE_METADATA_DIR}:\n${p.output.split("\n").slice(-40).join("\n")}`);
    for (const s of [...others, ...processes]) await s.kill9();
    await nats.stop();
  });
  // The second process starts later: the first takes both leases, then hands shard 1 over once the other is there.
  await processes[0]?.start();
  for (const s of [processes[1], ...others]) await s?.start();
  const leads = async (p: ServiceProcess | undefined, shard: number) =>
    p?.opsUrl !== undefined && (await metadataReplicaState(p.opsUrl, shard))?.leads === true;
  await waitFor(
    "each process leads the shard that prefers it",
    async () => (await leads(processes[0], 0)) && (await leads(processes[1], 1)),
    30_000,
  );
  assert.equal(await leads(processes[0], 1), false, "process 0 does not lead shard 1");
  assert.equal(await leads(processes[1], 0), false, "process 1 does not lead shard 0");
  // The operator's view: each shard, its journal and the replica that leads it.
  const shardLeaders = async () => {
    const { json } = await adminCall(`http://127.0.0.1:${adminPort}`, "GET", "/api/v1/metadata");
    const { shards } = json as {
      shards: { shard: number; journal: { stream: string }; replicas: { replica: string; leads: boolean }[] }[];
    };
    return shards.map((s) => `${s.shard} ${s.journal.stream} ${s.replicas.find((r) => r.leads)?.replica} of ${s.replicas.length}`);
  };
  let view: string[] = [];
  await waitFor("the admin API shows each shard led by its process", async () => {
    view = await shardLeaders();
    return view.join() === [`0 KOINE_META_JOURNAL ${names[0]} of 2`, `1 KOINE_META_JOURNAL_1 ${names[1]} of 2`].join();
  }).catch(() => assert.fail(JSON.stringify(view)));

  const buckets = Array.from({ length: 10 }, (_, i) => `shards-${i}`);
  const inShard = (k: number) => buckets.filter((b) => shardOf(b, 2) === k);
  assert.ok(inShard(0).length > 0 && inShard(1).length > 0, "the buckets spread over both shards");
  const s3 = s3Client(`http://127.0.0.1:${s3Port}`);
  onCleanup(t, () => s3.destroy());
  for (const bucket of buckets) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: `in ${bucket}` }));
  }
  const listed = (await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
  assert.deepEqual(listed, [...buckets].sort(), "ListBuckets merges both shards, in name order");

  // Each shard holds its own buckets, and refuses paths of the other.
  const nc = await connect({ servers: nats.url, name: "test" });
  onCleanup(t, () => nc.close());
  for (const k of [0, 1]) {
    const { entries } = await request(nc, shardEndpoint(Meta.list, k), { path: "/" });
    assert.deepEqual(entries.map((e) => e.path.slice(1)).sort(), inShard(k).sort(), `shard ${k} holds its buckets`);
    const other = inShard(1 - k)[0] as string;
    await assert.rejects(request(nc, shardEndpoint(Meta.stat, k), { path: `/${other}/k` }), /does not hold/);
  }

  // Alluxio's rename: within a shard as ever; across shards a clear INVALID_ARGUMENT (as across Alluxio mount points), nothing changed.
  const alluxio = `http://127.0.0.1:${alluxioPort}`;
  const [a0, a1] = inShard(0) as [string, string];
  const [b0] = inShard(1) as [string];
  const renamed = await alluxioCall(alluxio, `/${a0}/k/rename?dst=${encodeURIComponent(`/${a1}/moved`)}`);
  assert.equal(renamed.status, 200, `a rename within shard 0: ${JSON.stringify(renamed.value)}`);
  const across = await alluxioCall(alluxio, `/${a1}/moved/rename?dst=${encodeURIComponent(`/${b0}/moved`)}`);
  // Alluxio's REST errors are HTTP 500 with the gRPC status name.
  assert.equal(across.status, 500, JSON.stringify(across.value));
  assert.equal(across.code, "INVALID_ARGUMENT");
  assert.match(JSON.stringify(across.value), /different metadata shards/);
  assert.equal((await alluxioCall(alluxio, `/${a1}/moved/get-status`)).status, 200, "the source is still there");
  assert.equal((await alluxioCall(alluxio, `/${b0}/moved/get-status`)).code, "NOT_FOUND", "nothing at the destination");

  // Load on a bucket of each shard; the leader of shard 1 (process 1) is killed.
  const steady = new S3Load(s3, a0, { writers: 3, readers: 1, listers: 1, probeEveryMs: 250 });
  const moved = new S3Load(s3, b0, { writers: 3, readers: 1, listers: 1, probeEveryMs: 250 });
  onCleanup(t, () => Promise.all([steady.stop(), moved.stop()])); // a failed assertion must not leave them running
  await sleep(3_000);
  const killedAt = Date.now();
  await processes[1]?.kill9();
  await waitFor("writes to shard 1 again", async () => resumedAfter(moved.tally, killedAt) < Number.POSITIVE_INFINITY, 30_000);
  const resumed = resumedAfter(moved.tally, killedAt);
  await sleep(3_000);
  // Back: it follows both shards and takes shard 1's lead back once caught up.
  await processes[1]?.start();
  await waitFor("process 1 leads shard 1 again", () => leads(processes[1], 1), 30_000);
  await sleep(2_000);
  const [steadyTally, movedTally] = [await steady.stop(), await moved.stop()];
  console.log("metadata shards: shard 0 outcomes", Object.fromEntries(steadyTally.outcomes));
  console.log("metadata shards: shard 1 outcomes", Object.fromEntries(movedTally.outcomes), "writes resumed after", resumed, "ms");

  assert.deepEqual(
    [...steadyTally.outcomes.keys()].filter((o) => !o.endsWith(" ok")),
    [],
    "shard 0's bucket answered every request while shard 1's leader was killed and came back",
  );
  assert.ok((steadyTally.outcomes.get("PUT ok") ?? 0) > 20, "the load on shard 0 ran");
  assert.deepEqual(moved.unexpected(), [], "shard 1's failures are 503s a client retries");
  assert.ok(resumed <= 5_000, `writes to shard 1 resumed ${resumed} ms after its leader was killed`);
  for (const [bucket, tally] of [
    [a0, steadyTally],
    [b0, movedTally],
  ] as const) {
    assert.deepEqual(tally.hangs, [], "no request hangs");
    assert.deepEqual(tally.wrongBytes, [], "no read returns other bytes than were acknowledged");
    assert.deepEqual(
      await missingOrWrong(s3, bucket, tally.acknowledged),
      [],
      `every acknowledged write to ${bucket} reads back and lists`,
    );
  }

  // A namespace is not split again: a process that says otherwise refuses to start, and says why.
  const resplit = new ServiceProcess("metadata", {
    ...base,
    KOINE_METADATA_SHARDS: "3",
    KOINE_METADATA_DIR: join(home, "metadata-resplit"),
  });
  await assert.rejects(resplit.start(), /KOINE_METADATA_SHARDS is 3, but this namespace is split into 2 shard/);
  finished = true;
});
