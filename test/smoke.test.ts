import assert from "node:assert/strict";
import { test } from "node:test";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { bootCluster, TEST_CREDENTIALS } from "@koine/testkit";

test("smoke - put and get one object", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = new S3Client({ endpoint: cluster.s3Url, region: "us-east-1", forcePathStyle: true, credentials: TEST_CREDENTIALS });
  t.after(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "smoke" }));
  await s3.send(new PutObjectCommand({ Bucket: "smoke", Key: "a/b.txt", Body: "hello" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: "smoke", Key: "a/b.txt" }));
  assert.equal(await got.Body?.transformToString(), "hello");
  const list = await s3.send(new ListObjectsV2Command({ Bucket: "smoke" }));
  assert.deepEqual(
    list.Contents?.map((c) => c.Key),
    ["a/b.txt"],
  );
});
