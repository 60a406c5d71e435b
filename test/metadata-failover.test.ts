import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { startNatsServer } from "@koine/bus";
import { ServiceProcess } from "@koine/launcher";
import { freePorts, onCleanup, tempDir, waitFor } from "@koine/testkit";
import { missingOrWrong, resumedAfter, S3Load, s3Client } from "@koine/testkit/clients";
import { assertReplicasAlike, leaderOf } from "./metadata-replicas.ts";

/**
 * Metadata replicas (issue 16): one leads, the others follow the journal;
 * when the leader dies another takes over, and no acknowledged write is lost.
 */

test("metadata failover - three replicas under S3 load: kill -9 of the leader, twice; writes resume within 5 s, nothing acknowledged lost, every replica's LMDB alike", async (t) => {
  const home = await tempDir(t, "koine-failover-");
  const [natsPort, s3Port, cachePort] = (await freePorts(3)) as [number, number, number];
  const nats = await startNatsServer({ storeDir: join(home, "nats"), port: natsPort });
  const base = { KOINE_HOME: home, KOINE_NATS_URL: nats.url };
  const replicas = [0, 1, 2].map((i) => new ServiceProcess("metadata", { ...base, KOINE_METADATA_DIR: join(home, `metadata-${i}`) }));
  const others = [
    new ServiceProcess("cache-node", { ...base, KOINE_NODE_ID: "node0", KOINE_CACHE_PORT: String(cachePort) }),
    new ServiceProcess("s3-gateway", { ...base, KOINE_S3_PORT: String(s3Port) }),
  ];
  let finished = false;
  onCleanup(t, async () => {
    if (!finished)
      for (const r of replicas) console.error(`--- ${r.env.KOINE_METADATA_DIR}:\n${r.output.split("\n").slice(-30).join("\n")}`);
    for (const s of [...others, ...replicas]) await s.kill9();
    await nats.stop();
  });
  for (const s of [...replicas, ...others]) await s.start();

  const s3 = s3Client(`http://127.0.0.1:${s3Port}`);
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "failover" }));
  const load = new S3Load(s3, "failover", { writers: 6, readers: 2, listers: 1, probeEveryMs: 250 });
  onCleanup(t, () => load.stop()); // a failed assertion must not leave it running
  const resumed: number[] = [];
  for (let round = 0; round < 2; round++) {
    await sleep(3_000);
    const leader = await leaderOf(replicas);
    const killedAt = Date.now();
    await leader.kill9();
    await waitFor("writes again", async () => resumedAfter(load.tally, killedAt) < Number.POSITIVE_INFINITY, 30_000);
    resumed.push(resumedAfter(load.tally, killedAt));
    // Back as a follower: it catches up on what was appended while it was down.
    await leader.start();
  }
  await sleep(2_000);
  const tally = await load.stop();
  console.log("metadata failover: outcomes", Object.fromEntries(tally.outcomes), "ms until writes resumed", resumed);
  console.log("metadata failover: a message of each failure", Object.fromEntries(tally.samples));

  assert.deepEqual(tally.hangs, [], "no request hangs");
  assert.deepEqual(tally.wrongBytes, [], "no read returns other bytes than were acknowledged");
  assert.deepEqual(load.unexpected(), [], "failures are 503s a client retries");
  assert.ok((tally.outcomes.get("PUT ok") ?? 0) > 50, "the load ran");
  for (const ms of resumed) assert.ok(ms <= 5_000, `writes resumed ${ms} ms after the leader was killed`);
  assert.deepEqual(await missingOrWrong(s3, "failover", tally.acknowledged), [], "every acknowledged write reads back and lists");

  // Quiet: every replica applies the journal to its end, and holds the same LMDB, database by database.
  await assertReplicasAlike(replicas, [...others, ...replicas], tally.acknowledged.size, "metadata failover");
  finished = true;
});
