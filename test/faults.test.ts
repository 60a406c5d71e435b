import assert from "node:assert/strict";
import { createHash, randomBytes, randomInt } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { type NatsServer, startNatsServer } from "@koine/bus";
import { ServiceProcess } from "@koine/launcher";
import { freePort, onCleanup, type TestContext, tempDir } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";

const WRITERS = 8;
const READERS = 4;
/** A request that takes longer has hung. */
const HANG_MS = 60_000;
/** Load before the first fault, and between faults. */
const SETTLE_MS = 3_000;

interface Tally {
  acknowledged: Map<string, string>;
  outcomes: Map<string, number>;
  /** The first message of each kind of failure. */
  samples: Map<string, string>;
  wrongBytes: string[];
  hangs: string[];
}

/** What a failed request came to; one that ran for HANG_MS was cut off, and hung. */
function outcomeOf(err: unknown, startedMs: number): string {
  if (Date.now() - startedMs >= HANG_MS) return "hang";
  if (err instanceof S3ServiceException) return `${err.$metadata.httpStatusCode} ${err.name}`;
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  return `network ${e.code ?? e.cause?.code ?? e.name ?? "error"}`;
}

function count(tally: Tally, outcome: string, err?: unknown): void {
  tally.outcomes.set(outcome, (tally.outcomes.get(outcome) ?? 0) + 1);
  if (err && !tally.samples.has(outcome)) tally.samples.set(outcome, String((err as Error).message));
}

async function writer(s3: S3Client, id: number, tally: Tally, running: () => boolean): Promise<void> {
  for (let n = 0; running(); n++) {
    const key = `w${id}/${n}`;
    const body = randomBytes(randomInt(1024, 1024 * 1024));
    const started = Date.now();
    try {
      await s3.send(new PutObjectCommand({ Bucket: "faults", Key: key, Body: body }), { abortSignal: AbortSignal.timeout(HANG_MS) });
      tally.acknowledged.set(key, createHash("sha256").update(body).digest("hex"));
      count(tally, "PUT ok");
    } catch (err) {
      const outcome = outcomeOf(err, started);
      if (outcome === "hang") tally.hangs.push(`PUT ${key}`);
      count(tally, `PUT ${outcome}`, err);
      await sleep(100);
    }
  }
}

async function reader(s3: S3Client, tally: Tally, running: () => boolean): Promise<void> {
  while (running()) {
    const keys = [...tally.acknowledged.keys()];
    const key = keys[randomInt(Math.max(1, keys.length))];
    if (!key) {
      await sleep(50);
      continue;
    }
    const started = Date.now();
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: "faults", Key: key }), { abortSignal: AbortSignal.timeout(HANG_MS) });
      const bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      if (createHash("sha256").update(bytes).digest("hex") !== tally.acknowledged.get(key)) tally.wrongBytes.push(key);
      count(tally, "GET ok");
    } catch (err) {
      const outcome = outcomeOf(err, started);
      if (outcome === "hang") tally.hangs.push(`GET ${key}`);
      count(tally, `GET ${outcome}`, err);
      await sleep(100);
    }
  }
}

/** Pages through the bucket, a few keys a page, over and over: each page is an LMDB read of its own in metadata. */
async function lister(s3: S3Client, tally: Tally, running: () => boolean): Promise<void> {
  let token: string | undefined;
  while (running()) {
    const started = Date.now();
    try {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: "faults", MaxKeys: 7, ...(token ? { ContinuationToken: token } : {}) }),
        {
          abortSignal: AbortSignal.timeout(HANG_MS),
        },
      );
      token = page.NextContinuationToken;
      count(tally, "LIST ok");
    } catch (err) {
      const outcome = outcomeOf(err, started);
      if (outcome === "hang") tally.hangs.push("LIST");
      count(tally, `LIST ${outcome}`, err);
      await sleep(100);
    }
  }
}

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

  const tally: Tally = { acknowledged: new Map(), outcomes: new Map(), samples: new Map(), wrongBytes: [], hangs: [] };
  let running = true;
  const load = [
    ...Array.from({ length: WRITERS }, (_, i) => writer(s3, i, tally, () => running)),
    ...Array.from({ length: READERS }, () => reader(s3, tally, () => running)),
    lister(s3, tally, () => running),
  ];
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
  running = false;
  await Promise.all(load);
  console.log("faults: outcomes", Object.fromEntries(tally.outcomes), "ms from restart to serving", outages);
  console.log("faults: a message of each failure", Object.fromEntries(tally.samples));

  assert.deepEqual(tally.hangs, [], "no request hangs");
  assert.deepEqual(tally.wrongBytes, [], "no read returns other bytes than were acknowledged");
  assert.ok((tally.outcomes.get("PUT ok") ?? 0) > 50, "the load ran");
  const unexpected = [...tally.outcomes.keys()].filter(
    (o) => !/^(GET|PUT|LIST) (ok|503 ServiceUnavailable|503 SlowDown|network \w+)$/.test(o),
  );
  assert.deepEqual(unexpected, [], "failures are 503s a client retries, or connections refused or cut while the gateway is down");
  for (const [name, ms] of Object.entries(outages)) assert.ok(ms <= 15_000, `${name}: serving again ${ms} ms after its restart`);

  // Every acknowledged object reads back whole and is listed.
  for (const [key, sha] of tally.acknowledged) {
    const got = await s3.send(new GetObjectCommand({ Bucket: "faults", Key: key }));
    const bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    assert.equal(createHash("sha256").update(bytes).digest("hex"), sha, key);
  }
  const listed = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: "faults", ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) listed.add(o.Key as string);
    token = page.NextContinuationToken;
  } while (token);
  assert.deepEqual(
    [...tally.acknowledged.keys()].filter((k) => !listed.has(k)),
    [],
    "the listing holds every acknowledged key",
  );

  // Staged files of writes that failed are swept once older than the grace period (5 s here).
  const ufs = join(home, "ufs");
  for (let waited = 0; (await stagedFiles(ufs)).length > 0 && waited < 15_000; waited += 500) await sleep(500);
  assert.deepEqual(await stagedFiles(ufs), [], "no staged file outlives the sweep");
});
