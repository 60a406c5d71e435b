import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { freePort, freePortRun, onCleanup, tempDir } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, "..", "scripts", "cluster.ts");

test("scripts/cluster - one process per service: up, serve S3 across processes, status, down", async (t) => {
  const home = await tempDir(t, "koine-cluster-");
  const [nats, s3Port, alluxioPort, adminPort, metadataPort, jobRunnerPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // Two cache nodes take KOINE_CACHE_PORT and the next one: neither may be a port given to another service.
  const cachePort = await freePortRun(2, [nats, s3Port, alluxioPort, adminPort, metadataPort, jobRunnerPort]);
  const env = {
    ...process.env,
    KOINE_HOME: home,
    KOINE_NATS_PORT: String(nats),
    KOINE_S3_PORT: String(s3Port),
    KOINE_ALLUXIO_PORT: String(alluxioPort),
    KOINE_ADMIN_PORT: String(adminPort),
    KOINE_CACHE_PORT: String(cachePort),
    KOINE_METADATA_PORT: String(metadataPort),
    KOINE_JOB_RUNNER_PORT: String(jobRunnerPort),
  };
  const cluster = (...args: string[]) => run(process.execPath, ["--import", "tsx", SCRIPT, ...args], { env, timeout: 120_000 });
  const up = await cluster("up", "--nodes", "2");
  onCleanup(t, () => cluster("down"));
  assert.match(up.stdout, /cache-node1/);

  const s3 = s3Client(`http://127.0.0.1:${s3Port}`);
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "procs" }));
  const bodies = Array.from({ length: 16 }, (_, i) => randomBytes(256 * 1024 + i));
  for (const [i, Body] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: "procs", Key: `k${i}`, Body }));
  for (const [i, body] of bodies.entries()) {
    const got = await s3.send(new GetObjectCommand({ Bucket: "procs", Key: `k${i}` }));
    assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(body));
  }

  // Usage reaches the membership bucket with the next heartbeat (every 2 s).
  const bothUsed = (text: string) => /member node0: .*"usedBytes":[1-9]/.test(text) && /member node1: .*"usedBytes":[1-9]/.test(text);
  let status = (await cluster("status")).stdout;
  for (let tries = 0; tries < 10 && !bothUsed(status); tries++) {
    await new Promise((r) => setTimeout(r, 1000));
    status = (await cluster("status")).stdout;
  }
  for (const name of ["nats", "metadata", "cache-node0", "cache-node1", "job-runner", "s3-gateway", "alluxio-proxy"])
    assert.match(status, new RegExp(`up +${name}`));
  assert.match(status, /member node0: .*"usedBytes":[1-9]/);
  assert.match(status, /member node1: .*"usedBytes":[1-9]/, "both nodes keep pages");

  const down = (await cluster("down")).stdout;
  assert.match(down, /stopped nats/);
  assert.match((await cluster("status")).stdout, /no cluster/);
});
