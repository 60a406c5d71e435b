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
import { alluxioCall, s3Client, s3Outcome } from "@koine/testkit/clients";

test("start order - front-ends and the job runner start while metadata is down, answer 503, then serve once it is up", async (t) => {
  const nats = await startNats(t);
  const home = await tempDir(t, "koine-order-");
  const env = { KOINE_NATS_URL: nats.url, KOINE_S3_PORT: "0", KOINE_ALLUXIO_PORT: "0", KOINE_ADMIN_PORT: "0" };
  const gateway = await s3.start({ ...s3.parseConfig(env), host: "127.0.0.1" });
  onCleanup(t, () => gateway.stop());
  const proxy = await alluxio.start({ ...alluxio.parseConfig(env), host: "127.0.0.1" });
  onCleanup(t, () => proxy.stop());
  const adminApi = await admin.start({ ...admin.parseConfig(env), host: "127.0.0.1" });
  onCleanup(t, () => adminApi.stop());
  const runner = await jobRunner.start({ natsUrl: nats.url });
  onCleanup(t, () => runner.stop());

  const client = s3Client(gateway.url);
  onCleanup(t, () => client.destroy());
  assert.equal(await s3Outcome(client.send(new ListBucketsCommand({}))), "503 ServiceUnavailable");
  assert.equal((await alluxioCall(proxy.url, "/x/get-status")).code, "UNAVAILABLE");
  assert.equal((await fetch(`${adminApi.url}/api/v1/mount`)).status, 503);

  const meta = await metadata.start({
    natsUrl: nats.url,
    dataDir: join(home, "metadata"),
    rootUfs: pathToFileURL(join(home, "ufs")).href,
  });
  onCleanup(t, () => meta.stop());
  const node = await cacheNode.start({
    ...cacheNode.parseConfig({ KOINE_NATS_URL: nats.url, KOINE_HOME: home, KOINE_CACHE_PORT: "0" }),
    host: "127.0.0.1",
    advertiseHost: "127.0.0.1",
  });
  onCleanup(t, () => node.stop());

  await waitFor("the gateway to serve", async () => (await s3Outcome(client.send(new CreateBucketCommand({ Bucket: "late" })))) === "ok");
  await client.send(new PutObjectCommand({ Bucket: "late", Key: "k", Body: "served" }));
  const got = await client.send(new GetObjectCommand({ Bucket: "late", Key: "k" }));
  assert.equal(await got.Body?.transformToString(), "served");
  await waitFor("the proxy to serve", async () => (await alluxioCall(proxy.url, "/late/k/get-status")).status === 200);
  await waitFor("the admin API to serve", async () => (await fetch(`${adminApi.url}/api/v1/mount`)).status === 200);
});
