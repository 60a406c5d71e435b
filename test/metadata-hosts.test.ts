import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { connect, Journal } from "@koine/bus";
import {
  addHost,
  canSimulateHosts,
  createNetwork,
  type HostProcess,
  jetStreamLeaders,
  removeNetwork,
  type SimHost,
  setLink,
  startNatsOn,
  startService,
  untilJetStreamSettled,
} from "@koine/launcher";
import { JOURNAL_STREAM, JOURNAL_SUBJECT } from "@koine/protocol";
import { onCleanup, tempDir, waitFor } from "@koine/testkit";
import { metadataReplicaState, missingOrWrong, resumedAfter, S3Load, s3Client } from "@koine/testkit/clients";
import { assertLmdbsAlike } from "./metadata-replicas.ts";

/**
 * Metadata replicas on three simulated hosts, each with a server of a
 * 3-server NATS cluster (issue 16): the leader killed, then the leader's
 * host cut off and plugged back; the old leader, fenced, appends nothing.
 */

/** The replica of a host's view of itself. */
const replicaState = (host: SimHost) => metadataReplicaState(`http://${host.ip}:19998`);

test("metadata hosts - replicas on three hosts under S3 load: the leader killed, then its host cut off and plugged back (fenced); nothing acknowledged lost, replicas alike", async (t) => {
  const can = canSimulateHosts();
  if (!can.ok) {
    t.skip(can.why);
    return;
  }
  const home = await tempDir(t, "koine-meta-hosts-");
  const network = { name: "kf", subnet: "10.78.0" };
  createNetwork(network);
  onCleanup(t, () => removeNetwork(network)); // runs last: after every process below has stopped
  const [a, b, c, d] = [addHost(network, "a", 1), addHost(network, "b", 2), addHost(network, "c", 3), addHost(network, "d", 4)] as [
    SimHost,
    SimHost,
    SimHost,
    SimHost,
  ];
  const started: HostProcess[] = [];
  const keep = (p: HostProcess) => {
    started.push(p);
    onCleanup(t, () => p.stop());
    return p;
  };
  let finished = false;
  t.after(() => {
    if (finished) return;
    for (const p of started) console.error(`--- ${p.name} on ${p.host.name}:\n${p.output().split("\n").slice(-30).join("\n")}`);
  });
  const replicaHosts = [a, b, c];
  const nats = await Promise.all(replicaHosts.map((h, i) => startNatsOn(h, `nats${i + 1}`, join(home, `nats${i + 1}`), replicaHosts)));
  nats.forEach(keep);
  const natsUrl = replicaHosts.map((h) => `nats://${h.ip}:4222`).join(",");
  const common = { KOINE_NATS_URL: natsUrl, KOINE_HOME: home, KOINE_ROOT_UFS: pathToFileURL(join(home, "ufs")).href };
  // Each replica lists its host's own NATS server first (as docs/deployment.md advises): it is on that one while it answers.
  const localFirst = (h: SimHost) => [h, ...replicaHosts.filter((o) => o !== h)].map((o) => `nats://${o.ip}:4222`).join(",");
  const startReplica = async (h: SimHost) =>
    keep(
      await startService(h, "metadata", { ...common, KOINE_NATS_URL: localFirst(h), KOINE_METADATA_DIR: join(home, `metadata-${h.name}`) }),
    );
  const replicas = new Map<SimHost, HostProcess>();
  for (const h of replicaHosts) replicas.set(h, await startReplica(h));
  keep(
    await startService(d, "cache-node", {
      ...common,
      KOINE_NODE_ID: "d",
      KOINE_ADVERTISE_HOST: d.ip,
      KOINE_CACHE_DIR: join(home, "cache-d"),
      KOINE_CACHE_MEMORY: "0",
    }),
  );
  keep(
    await startService(d, "s3-gateway", { ...common, KOINE_S3_PORT: "9000", KOINE_ACCESS_KEY: "koine", KOINE_SECRET_KEY: "koinesecret" }),
  );
  const leaderHost = async (among: SimHost[]) => {
    let leader: SimHost | undefined;
    await waitFor("a leader", async () => {
      for (const h of among) if ((await replicaState(h))?.leads) leader = h;
      return leader !== undefined;
    });
    return leader as SimHost;
  };

  const s3 = s3Client(`http://${d.ip}:9000`);
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "hosts" }));
  const load = new S3Load(s3, "hosts", { writers: 4, readers: 2, listers: 1, probeEveryMs: 250 });
  onCleanup(t, () => load.stop()); // a failed assertion must not leave it running

  // The leader killed: another replica leads within 5 s.
  await sleep(3_000);
  const first = await leaderHost(replicaHosts);
  const killedAt = Date.now();
  replicas.get(first)?.child.kill("SIGKILL");
  await waitFor("writes after the kill", async () => resumedAfter(load.tally, killedAt) < Number.POSITIVE_INFINITY, 30_000);
  const afterKill = resumedAfter(load.tally, killedAt);
  replicas.set(first, await startReplica(first));

  // The leader's host cut off: its NATS server and its replica both gone at once (once the new leader has led a
  // few seconds: it moves the streams it needs off its own server then).
  await sleep(6_000);
  const second = await leaderHost(replicaHosts);
  const fencedReplica = (await readFile(join(home, `metadata-${second.name}`, "replica-id"), "utf8")).trim();
  t.diagnostic(`at the cut of ${second.name}, ${await jetStreamLeaders(`http://${second.ip}:8222`)}`);
  const cutAt = Date.now();
  setLink(second, false);
  await waitFor("writes after the cut", async () => resumedAfter(load.tally, cutAt) < Number.POSITIVE_INFINITY, 60_000);
  const afterCut = resumedAfter(load.tally, cutAt);
  await sleep(2_000);
  // Plugged back, the old leader learns another holds the lease and steps down (an append it tried meanwhile was refused).
  setLink(second, true);
  let steppedDownMs = 0;
  await waitFor(
    "the old leader to step down",
    () => {
      const line = (replicas.get(second)?.output() ?? "").split("\n").find((l) => l.includes("follows the namespace's journal (another"));
      steppedDownMs = line ? (JSON.parse(line) as { time: number }).time : 0;
      return steppedDownMs > 0;
    },
    30_000,
  );
  const settled = await untilJetStreamSettled(replicaHosts, async () => {
    const i = replicaHosts.indexOf(second);
    await nats[i]?.stop();
    nats[i] = keep(await startNatsOn(second, `nats${i + 1}`, join(home, `nats${i + 1}`), replicaHosts));
  });
  t.diagnostic(`JetStream after the cut: ${settled}`);
  await sleep(2_000);
  const tally = await load.stop();
  console.log("metadata hosts: outcomes", Object.fromEntries(tally.outcomes), "ms until writes resumed", { afterKill, afterCut });
  console.log("metadata hosts: a message of each failure", Object.fromEntries(tally.samples));

  assert.deepEqual(tally.hangs, [], "no request hangs");
  assert.deepEqual(tally.wrongBytes, [], "no read returns other bytes than were acknowledged");
  assert.deepEqual(load.unexpected(), [], "failures are 503s a client retries");
  assert.ok(afterKill <= 5_000, `writes resumed ${afterKill} ms after the leader was killed`);
  // A host cut off takes its NATS server with it. The leader keeps the journal's and the leases' streams led from
  // other servers, and reads what it lacks without JetStream's meta group (which may have been led there), so the
  // lease's 3 s and a client's reconnect (when that server was its) are what is in the way.
  assert.ok(afterCut <= 5_000, `writes resumed ${afterCut} ms after the leader's host was cut off`);
  assert.deepEqual(await missingOrWrong(s3, "hosts", tally.acknowledged), [], "every acknowledged write reads back and lists");

  // Fenced: once the new leader appended, nothing the old one appended was stored (until it stepped down).
  const nc = await connect({ servers: natsUrl, name: "test" });
  onCleanup(t, () => nc.close());
  const journal = await Journal.open(nc, { stream: JOURNAL_STREAM, subject: JOURNAL_SUBJECT });
  let taken = false;
  const late: string[] = [];
  for await (const record of journal.read(0)) {
    if (record.storedMs <= cutAt || record.storedMs >= steppedDownMs) continue;
    if (record.writer !== fencedReplica) taken = true;
    else if (taken) late.push(`${record.seq} at cut + ${Math.round(record.storedMs - cutAt)} ms`);
  }
  assert.deepEqual(late, [], "records of the old leader stored after the new leader's first");

  // Quiet: every replica applies the journal to its end and holds the same LMDB.
  await waitFor(
    "every replica at the journal's end",
    async () => {
      const states = await Promise.all(replicaHosts.map(replicaState));
      return states[0] !== undefined && new Set(states.map((s) => s?.applied)).size === 1;
    },
    60_000,
  );
  // Killed, not stopped: a replica that stopped would hand the lease on, and the next leader append (its users).
  for (const h of replicaHosts) replicas.get(h)?.child.kill("SIGKILL");
  await sleep(500);
  await assertLmdbsAlike(
    replicaHosts.map((h) => join(home, `metadata-${h.name}`)),
    "metadata hosts",
  );
  finished = true;
});
