import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { bootRestartable } from "@koine/launcher";
import { onCleanup } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";

const MiB = 1024 * 1024;

test("restart - after SIGKILL of every process, every byte and listing is back", async (t) => {
  const koine = await bootRestartable(t);
  const s3 = s3Client(koine.s3Url);
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

  await koine.killAndRestart();

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
