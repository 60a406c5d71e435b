import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { canSimulateHosts } from "@koine/launcher";
import { onCleanup, tempDir, waitFor } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, "..", "scripts", "hosts.ts");

test("scripts/hosts - an operator lays hosts out, cuts one off, adds one, tears down", async (t) => {
  const can = canSimulateHosts();
  if (!can.ok) {
    t.skip(can.why);
    return;
  }
  const home = await tempDir(t, "koine-hosts-script-");
  const env = { ...process.env, KOINE_HOME: home, KOINE_HOSTS_NETWORK: "ks", KOINE_HOSTS_SUBNET: "10.79.0" };
  const hosts = async (...args: string[]) =>
    (await run(process.execPath, ["--import", "tsx", SCRIPT, ...args], { env, timeout: 120_000 })).stdout;

  const up = await hosts("up", "--layout", "a=nats,metadata,job-runner,alluxio-admin b=cache-node,s3-gateway c=cache-node");
  onCleanup(t, () => hosts("down"));
  assert.match(up, /S3 :9000: http:\/\/10\.79\.0\.12:9000/);
  assert.match(up, /NATS: nats:\/\/10\.79\.0\.11:4222/);

  const s3 = s3Client("http://10.79.0.12:9000");
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "laid-out" }));
  const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(200_000 + i));
  for (const [i, Body] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: "laid-out", Key: `k${i}`, Body }));
  const readAll = async () => {
    for (const [i, body] of bodies.entries()) {
      const got = await s3.send(new GetObjectCommand({ Bucket: "laid-out", Key: `k${i}` }));
      assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(body), `k${i}`);
    }
  };
  await readAll();

  let status = await hosts("status");
  assert.match(status, /host a 10\.79\.0\.11 cable up: nats, metadata, job-runner, alluxio-admin/);
  for (const name of ["a-nats", "a-metadata", "b-cache-node", "b-s3-gateway", "c-cache-node"])
    assert.match(status, new RegExp(`up +${name}`));
  assert.match(status, /JetStream: settled/);
  assert.match(status, /member b: /);
  assert.match(status, /member c: /);

  await hosts("cut", "c");
  assert.match(await hosts("status"), /host c 10\.79\.0\.13 cable DOWN/);
  await readAll(); // from host B's node or the under-store
  await hosts("plug", "c");
  assert.match(await hosts("status"), /host c 10\.79\.0\.13 cable up/);

  assert.match(await hosts("add", "d", "cache-node"), /d-cache-node/);
  await waitFor("host D's cache node in the membership", async () => /member d: /.test(await hosts("status")));
  await readAll();

  // Refused: a second metadata, an unknown service, a host that exists.
  await assert.rejects(hosts("add", "e", "metadata"), /one host with metadata/);
  await assert.rejects(hosts("add", "e", "nosuch"), /unknown service "nosuch"/);
  await assert.rejects(hosts("add", "d", "s3-gateway"), /host d exists/);

  status = await hosts("status");
  const pids = [...status.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 8); // a: 4, b: 2, c: 1, d: 1
  assert.match(await hosts("down"), /hosts removed/);
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), `process ${pid} stopped`);
  assert.doesNotMatch(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }), /^ks-/m);
  assert.match(await hosts("status"), /no hosts/);
});
