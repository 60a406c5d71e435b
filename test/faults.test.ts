import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { type NatsServer, startNatsServer } from "@koine/bus";
import { ServiceProcess } from "@koine/launcher";
import { freePort, onCleanup, type TestContext, tempDir } from "@koine/testkit";
import { HANG_MS, missingOrWrong, S3Load, s3Client } from "@koine/testkit/clients";

const WRITERS = 8;
const READERS = 4;
/** Load before the first fault, and between faults. */
const SETTLE_MS = 3_000;

/** Milliseconds until `s3` answers a request again. */
async function untilServing(s3: S3Client): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: "faults" }), { abortSignal: AbortSignal.timeout(5_000) });
      return Date.now() - start;
    } catch {
      if (Date.now() - start > HANG_MS) return Number.POSITIVE_INFINITY;
      await sleep(50);
    }
  }
}

async function stagedFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).filter((p) => /(^|\/)\.koine-tmp-/.test(p));
}

async function startCluster(t: TestContext) {
  const home = await tempDir(t, "koine-faults-");
  const natsPort = await freePort();
  const s3Port = await freePort();
  const natsStore = join(home, "nats");
  let nats: NatsServer = await startNatsServer({ storeDir: natsStore, port: natsPort });
  const base = {
    KOINE_HOME: home,
    KOINE_NATS_URL: `nats://127.0.0.1:${natsPort}`,
    KOINE_SWEEP_INTERVAL: "1s",
    KOINE_SWEEP_GRACE: "5s",
  };
  const services = {
    metadata: new ServiceProcess("metadata", base),
    node0: new ServiceProcess("cache-node", { ...base, KOINE_NODE_ID: "node0", KOINE_CACHE_PORT: String(await freePort()) }),
    node1: new ServiceProcess("cache-node", { ...base, KOINE_NODE_ID: "node1", KOINE_CACHE_PORT: String(await freePort()) }),
    gateway: new ServiceProcess("s3-gateway", { ...base, KOINE_S3_PORT: String(s3Port) }),
  };
  onCleanup(t, async () => {
    for (const s of Object.values(services)) await s.kill9();
    await nats.stop();
  });
  for (const s of Object.values(services)) await s.start();
  const natsServer = {
    async kill9() {
      nats.process.kill("SIGKILL");
      await new Promise((resolve) => nats.process.once("exit", resolve));
    },
    async start() {
      nats = await startNatsServer({ storeDir: natsStore, port: natsPort });
    },
  };
  return { home, s3Url: `http://127.0.0.1:${s3Port}`, faults: { ...services, nats: natsServer } };
}

test("faults - kill -9 of metadata, a cache node, the gateway and nats-server under load: nothing acknowledged lost or wrong", async (t) => {
  const { home, s3Url, faults } = await startCluster(t);
  const s3 = s3Client(s3Url);
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "faults" }));

  const load = new S3Load(s3, "faults", { writers: WRITERS, readers: READERS, listers: 1 });
  onCleanup(t, () => load.stop()); // a failed assertion must not leave it running

  const outages: Record<string, number> = {};
  await sleep(SETTLE_MS);
  for (const [name, target] of Object.entries(faults) as [string, { kill9(): Promise<void>; start(): Promise<void> }][]) {
    await target.kill9();
    await sleep(500);
    const restarted = Date.now();
    await target.start();
    outages[name] = Date.now() - restarted + (await untilServing(s3));
    await sleep(SETTLE_MS);
  }
  const tally = await load.stop();
  console.log("faults: outcomes", Object.fromEntries(tally.outcomes), "ms from restart to serving", outages);
  console.log("faults: a message of each failure", Object.fromEntries(tally.samples));

  assert.deepEqual(tally.hangs, [], "no request hangs");
  assert.deepEqual(tally.wrongBytes, [], "no read returns other bytes than were acknowledged");
  assert.ok((tally.outcomes.get("PUT ok") ?? 0) > 50, "the load ran");
  assert.deepEqual(load.unexpected(), [], "failures are 503s a client retries, or connections refused or cut while the gateway is down");
  for (const [name, ms] of Object.entries(outages)) assert.ok(ms <= 15_000, `${name}: serving again ${ms} ms after its restart`);

  // Every acknowledged object reads back whole and is listed.
  assert.deepEqual(await missingOrWrong(s3, "faults", tally.acknowledged), []);

  // Staged files of writes that failed are swept once older than the grace period (5 s here).
  const ufs = join(home, "ufs");
  for (let waited = 0; (await stagedFiles(ufs)).length > 0 && waited < 15_000; waited += 500) await sleep(500);
  assert.deepEqual(await stagedFiles(ufs), [], "no staged file outlives the sweep");
});
