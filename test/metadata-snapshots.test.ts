import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { connect, Journal, request, startNatsServer } from "@koine/bus";
import { ServiceProcess } from "@koine/launcher";
import { JOURNAL_STREAM, Meta } from "@koine/protocol";
import { freePorts, onCleanup, tempDir, waitFor } from "@koine/testkit";
import { missingOrWrong, resumedAfter, S3Load, s3Client } from "@koine/testkit/clients";
import { assertReplicasAlike, leaderOf, replicaState } from "./metadata-replicas.ts";

/**
 * Metadata's snapshots (issue 16): the leader snapshots its LMDB into a
 * JetStream object store and trims the journal behind it; a replica that
 * starts empty, or finds the journal trimmed past it, loads a snapshot and
 * applies the rest of the journal.
 */

const snapshotsLoaded = (replica: ServiceProcess) => replica.output.match(/"msg":"loaded a snapshot"/g)?.length ?? 0;

test("metadata snapshots - a replica wiped, or frozen while the journal was trimmed past it, catches up from a snapshot and can lead; every replica's LMDB alike", async (t) => {
  const home = await tempDir(t, "koine-snapshots-");
  const [natsPort, s3Port, cachePort] = (await freePorts(3)) as [number, number, number];
  const nats = await startNatsServer({ storeDir: join(home, "nats"), port: natsPort });
  // A snapshot every 30 journal records (looked for every second).
  const base = { KOINE_HOME: home, KOINE_NATS_URL: nats.url, KOINE_METADATA_SNAPSHOT_EVERY: "30" };
  const replicas = [0, 1].map((i) => new ServiceProcess("metadata", { ...base, KOINE_METADATA_DIR: join(home, `metadata-${i}`) }));
  const others = [
    new ServiceProcess("cache-node", { ...base, KOINE_NODE_ID: "node0", KOINE_CACHE_PORT: String(cachePort) }),
    new ServiceProcess("s3-gateway", { ...base, KOINE_S3_PORT: String(s3Port) }),
  ];
  const nc = await connect({ servers: nats.url, name: "snapshots-test" });
  let finished = false;
  onCleanup(t, async () => {
    if (!finished)
      for (const r of replicas) console.error(`--- ${r.env.KOINE_METADATA_DIR}:\n${r.output.split("\n").slice(-30).join("\n")}`);
    for (const r of replicas) r.signal("SIGCONT");
    for (const s of [...others, ...replicas]) await s.kill9();
    await nc.close();
    await nats.stop();
  });
  for (const s of [...replicas, ...others]) await s.start();
  const journal = async () => (await Journal.end(nc, JOURNAL_STREAM)) ?? { firstSeq: 0, lastSeq: 0, lastStoredMs: 0 };

  const s3 = s3Client(`http://127.0.0.1:${s3Port}`);
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "snapshots" }));
  const load = new S3Load(s3, "snapshots", { writers: 2, readers: 1, listers: 1, probeEveryMs: 250 });
  onCleanup(t, () => load.stop()); // a failed assertion must not leave it running
  /** Journal records, quickly: directories made one at a time (a record each), until `done`. */
  let made = 0;
  const churn = async (what: string, done: () => Promise<boolean>) => {
    const until = Date.now() + 60_000;
    while (!(await done())) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
      for (let i = 0; i < 50; i++) await request(nc, Meta.mkdir, { path: `/snapshots/dirs/d${made++}`, recursive: true });
    }
  };
  const leader = await leaderOf(replicas);
  const follower = replicas.find((r) => r !== leader) as ServiceProcess;

  // Wiped: it starts empty while the journal no longer begins at 1.
  await follower.kill9();
  await rm(follower.env.KOINE_METADATA_DIR as string, { recursive: true });
  await churn("a snapshot, and the journal trimmed behind it", async () => (await journal()).firstSeq > 1);
  await follower.start();
  await waitFor("the wiped replica caught up", async () => (await replicaState(follower))?.applied !== undefined, 30_000);
  assert.equal(snapshotsLoaded(follower), 1, "the wiped replica loaded a snapshot");

  // Frozen: not heard from, the leader no longer keeps the journal for it. (It may hold the next 256 records
  // already, read ahead before it froze: they are applied and need no snapshot.)
  const frozenAt = (await replicaState(follower))?.applied ?? 0;
  follower.signal("SIGSTOP");
  await churn("the journal trimmed past the frozen replica", async () => (await journal()).firstSeq > frozenAt + 400);
  follower.signal("SIGCONT");
  await waitFor("the thawed replica loaded a snapshot", async () => snapshotsLoaded(follower) === 2, 30_000);

  // Built from snapshots, it takes over from the leader.
  await sleep(1_000);
  const killedAt = Date.now();
  await leader.kill9();
  await waitFor("writes again", async () => resumedAfter(load.tally, killedAt) < Number.POSITIVE_INFINITY, 30_000);
  const resumed = resumedAfter(load.tally, killedAt);
  await leader.start();
  await sleep(2_000);
  const tally = await load.stop();
  console.log(
    "metadata snapshots: outcomes",
    Object.fromEntries(tally.outcomes),
    "journal",
    await journal(),
    "writes resumed after",
    resumed,
    "ms",
  );

  assert.ok(resumed <= 5_000, `writes resumed ${resumed} ms after the leader was killed`);
  assert.deepEqual(tally.hangs, [], "no request hangs");
  assert.deepEqual(tally.wrongBytes, [], "no read returns other bytes than were acknowledged");
  assert.deepEqual(load.unexpected(), [], "failures are 503s a client retries");
  assert.deepEqual(await missingOrWrong(s3, "snapshots", tally.acknowledged), [], "every acknowledged write reads back and lists");
  await assertReplicasAlike(replicas, [...others, ...replicas], tally.acknowledged.size, "metadata snapshots");
  finished = true;
});
