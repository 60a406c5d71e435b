import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import * as admin from "@koine/alluxio-admin";
import * as alluxio from "@koine/alluxio-proxy";
import * as cacheNode from "@koine/cache-node";
import * as jobRunner from "@koine/job-runner";
import * as metadata from "@koine/metadata";
import * as s3 from "@koine/s3-gateway";
import { onCleanup, startNats, tempDir, waitFor } from "@koine/testkit";
import { alluxioCall, basicAuth, s3Client, s3Outcome } from "@koine/testkit/clients";

/** Status and JSON of a health endpoint. */
async function health(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${await res.text()}`;
}

test("start order - front-ends and the job runner start while metadata is down, answer 503, then serve once it is up", async (t) => {
  const nats = await startNats(t);
  const home = await tempDir(t, "koine-order-");
  const env = { KOINE_NATS_URL: nats.url, KOINE_HOME: home, KOINE_S3_PORT: "0", KOINE_ALLUXIO_PORT: "0", KOINE_ADMIN_PORT: "0" };
  const gateway = await s3.start({ ...s3.parseConfig(env), host: "127.0.0.1" });
  onCleanup(t, () => gateway.stop());
  const proxy = await alluxio.start({ ...alluxio.parseConfig(env), host: "127.0.0.1" });
  onCleanup(t, () => proxy.stop());
  const adminApi = await admin.start({ ...admin.parseConfig(env), host: "127.0.0.1" });
  onCleanup(t, () => adminApi.stop());
  const runner = await jobRunner.start({ natsUrl: nats.url, clusterKey: jobRunner.parseConfig(env).clusterKey });
  onCleanup(t, () => runner.stop());

  const client = s3Client(gateway.url);
  onCleanup(t, () => client.destroy());
  assert.equal(await s3Outcome(client.send(new ListBucketsCommand({}))), "503 ServiceUnavailable");
  assert.equal((await alluxioCall(proxy.url, "/x/get-status")).code, "UNAVAILABLE");
  assert.equal((await fetch(`${adminApi.url}/api/v1/mount`, { headers: basicAuth() })).status, 503);
  // Alive, not ready: /healthz and /readyz (under /_koine/ where S3 owns every path).
  const readyz = [`${gateway.url}/_koine/readyz`, `${proxy.url}/readyz`, `${adminApi.url}/readyz`];
  for (const url of [`${gateway.url}/_koine/healthz`, `${proxy.url}/healthz`, `${adminApi.url}/healthz`]) {
    assert.equal(await health(url), '200 {"status":"ok"}', url);
  }
  for (const url of readyz) assert.equal(await health(url), '503 {"ready":false,"metadata":false,"cacheNodes":0}', url);

  const meta = await metadata.start({
    ...metadata.parseConfig({ KOINE_NATS_URL: nats.url, KOINE_HOME: home }),
    rootUfs: pathToFileURL(join(home, "ufs")).href,
    ops: { host: "127.0.0.1", port: 0 },
  });
  let metaStopped = false;
  onCleanup(t, () => (metaStopped ? undefined : meta.stop()));
  for (const url of readyz) {
    await waitFor(`${url} to see metadata`, async () => (await health(url)) === '503 {"ready":false,"metadata":true,"cacheNodes":0}');
  }
  const node = await cacheNode.start({
    ...cacheNode.parseConfig({ KOINE_NATS_URL: nats.url, KOINE_HOME: home, KOINE_CACHE_PORT: "0" }),
    host: "127.0.0.1",
    advertiseHost: "127.0.0.1",
  });
  onCleanup(t, () => node.stop());

  await waitFor("the gateway to serve", async () => (await s3Outcome(client.send(new CreateBucketCommand({ Bucket: "late" })))) === "ok");
  // The gateway's mount table comes with metadata's next answer (retried every second): 503 until then.
  await waitFor(
    "the gateway to write",
    async () => (await s3Outcome(client.send(new PutObjectCommand({ Bucket: "late", Key: "k", Body: "served" })))) === "ok",
  );
  const got = await client.send(new GetObjectCommand({ Bucket: "late", Key: "k" }));
  assert.equal(await got.Body?.transformToString(), "served");
  await waitFor("the proxy to serve", async () => (await alluxioCall(proxy.url, "/late/k/get-status")).status === 200);
  await waitFor(
    "the admin API to serve",
    async () => (await fetch(`${adminApi.url}/api/v1/mount`, { headers: basicAuth() })).status === 200,
  );
  for (const url of readyz) assert.equal(await health(url), '200 {"ready":true,"metadata":true,"cacheNodes":1}', url);

  // Metadata gone: not ready again.
  await meta.stop();
  metaStopped = true;
  for (const url of readyz) assert.equal(await health(url), '503 {"ready":false,"metadata":false,"cacheNodes":1}', url);
});
