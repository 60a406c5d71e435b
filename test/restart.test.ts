import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { type NatsServer, startNatsServer } from "@koine/bus";
import { launchAllInOne } from "@koine/launcher";
import { allInOnePorts, onCleanup, tempDir } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";

const MiB = 1024 * 1024;

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

test("restart - after SIGKILL of every process, every byte and listing is back", async (t) => {
  const home = await tempDir(t, "koine-restart-");
  // Every port of the cluster a free one (AIS and Ozone included); the nats-server is this test's, at the cluster's port.
  const ports = await allInOnePorts();
  const natsPort = Number(ports.KOINE_NATS_PORT);
  const storeDir = join(home, "nats");
  const env = { KOINE_HOME: home, ...ports, KOINE_NATS_URL: `nats://127.0.0.1:${natsPort}` };
  let nats: NatsServer = await startNatsServer({ storeDir, port: natsPort });
  let koine = await launchAllInOne(env);
  onCleanup(t, async () => {
    await kill9(koine);
    await nats.stop();
  });

  const endpoint = `http://127.0.0.1:${ports.KOINE_S3_PORT}`;
  const s3 = s3Client(endpoint);
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "durable" }));
  const written = new Map<string, Buffer>();
  for (const [key, size] of [
    ["zero", 0],
    ["a/one", 1000],
    ["a/b/two", 2 * MiB + 7],
    ["c/three", 64 * 1024],
  ] as const) {
    const body = randomBytes(size);
    await s3.send(new PutObjectCommand({ Bucket: "durable", Key: key, Body: body }));
    written.set(key, body);
  }
  const multi = randomBytes(12 * MiB);
  await new Upload({ client: s3, params: { Bucket: "durable", Key: "m/multi", Body: multi }, partSize: 5 * MiB }).done();
  written.set("m/multi", multi);
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: "durable" }));

  await kill9(koine);
  await kill9(nats.process);
  nats = await startNatsServer({ storeDir, port: natsPort });
  koine = await launchAllInOne(env);

  const again = await s3.send(new ListObjectsV2Command({ Bucket: "durable" }));
  assert.deepEqual(
    again.Contents?.map((c) => [c.Key, c.Size, c.ETag, c.LastModified?.getTime()]),
    listing.Contents?.map((c) => [c.Key, c.Size, c.ETag, c.LastModified?.getTime()]),
  );
  for (const [Key, body] of written) {
    const got = await s3.send(new GetObjectCommand({ Bucket: "durable", Key }));
    assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(body), Key);
  }
});
