import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { s3Client } from "@koine/testkit/clients";

test("s3 - racing writes of one key: the namespace names the version the under-store holds, metadata included", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  await s3.send(new CreateBucketCommand({ Bucket: "race" }));
  for (let round = 0; round < 4; round++) {
    const bodies = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
    await Promise.all(
      bodies.map((Body, i) => s3.send(new PutObjectCommand({ Bucket: "race", Key: "hot", Body, Metadata: { writer: String(i) } }))),
    );
    const onDisk = await readFile(join(cluster.home, "ufs", "race", "hot"));
    const writer = bodies.findIndex((b) => b.equals(onDisk));
    assert.ok(writer >= 0, "the under-store holds one of the written bodies");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "race", Key: "hot" }));
    assert.equal(head.ETag, `"${createHash("md5").update(onDisk).digest("hex")}"`, `round ${round}: the ETag is that of the bytes on disk`);
    assert.equal(head.Metadata?.writer, String(writer), "and so is the metadata");
    const got = await s3.send(new GetObjectCommand({ Bucket: "race", Key: "hot" }));
    assert.ok(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(onDisk));
  }
});
