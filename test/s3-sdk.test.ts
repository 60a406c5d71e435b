import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { bootCluster } from "@koine/launcher";
import { randomStream, sha256Of, testTls } from "@koine/testkit";
import { s3Client, s3Outcome, TEST_CREDENTIALS } from "@koine/testkit/clients";

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

test("@aws-sdk/client-s3 - the whole S3 flow with a stock client, over https", async (t) => {
  const { tls } = await testTls(t);
  const cluster = await bootCluster(t, { tls, remoteCacheNodes: true });
  const s3 = s3Client(cluster.s3Url, TEST_CREDENTIALS, 1, tls.ca);
  t.after(() => s3.destroy());
  const Bucket = "sdk-flow";

  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new HeadBucketCommand({ Bucket }));
  const buckets = await s3.send(new ListBucketsCommand({}));
  assert.ok(buckets.Buckets?.some((b) => b.Name === Bucket));
  assert.equal(await s3Outcome(s3.send(new CreateBucketCommand({ Bucket }))), "ok", "us-east-1 answers its owner 200");

  // Buffer bodies: x-amz-checksum-crc32 header; a stream body: aws-chunked with a CRC32 trailer.
  const objects = new Map<string, Buffer>([
    ["empty", Buffer.alloc(0)],
    ["small/1k.bin", randomBytes(1024)],
    ["big/8m.bin", randomBytes(8 * MiB)],
  ]);
  for (const [Key, Body] of objects) {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: "application/x-test", Metadata: { color: "blue" } }));
    assert.equal(put.ETag, `"${md5(Body)}"`);
  }
  const streamed = randomStream(3 * MiB, 64 * 1024);
  const streamedPut = await s3.send(new PutObjectCommand({ Bucket, Key: "streamed.bin", Body: streamed.stream, ContentLength: 3 * MiB }));
  assert.match(streamedPut.ETag ?? "", /^"[0-9a-f]{32}"$/);

  // 100 MiB multipart upload from a stream.
  const big = randomStream(100 * MiB);
  const upload = new Upload({ client: s3, params: { Bucket, Key: "multi/100m.bin", Body: big.stream }, partSize: 8 * MiB, queueSize: 4 });
  const done = await upload.done();
  assert.match(done.ETag ?? "", /^"[0-9a-f]{32}-13"$/);

  // Full reads, byte for byte.
  for (const [Key, Body] of objects) {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(got.ContentType, "application/x-test");
    assert.equal(got.Metadata?.color, "blue");
    assert.equal(got.ContentLength, Body.length);
    assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(Body), Key);
  }
  const multi = await s3.send(new GetObjectCommand({ Bucket, Key: "multi/100m.bin" }));
  assert.equal(multi.ContentLength, 100 * MiB);
  assert.equal(await sha256Of(multi.Body as AsyncIterable<Uint8Array>), big.sha256());
  const st = await s3.send(new GetObjectCommand({ Bucket, Key: "streamed.bin" }));
  assert.equal(await sha256Of(st.Body as AsyncIterable<Uint8Array>), streamed.sha256());

  // Ranged reads.
  const eight = objects.get("big/8m.bin") as Buffer;
  for (const [range, start, end] of [
    ["bytes=0-0", 0, 0],
    ["bytes=1000-2999999", 1000, 2999999],
    ["bytes=-100", eight.length - 100, eight.length - 1],
    [`bytes=${8 * MiB - 10}-`, 8 * MiB - 10, 8 * MiB - 1],
  ] as const) {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: "big/8m.bin", Range: range }));
    assert.equal(got.ContentRange, `bytes ${start}-${end}/${eight.length}`);
    assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(eight.subarray(start, end + 1)), range);
  }
  const ranged = await s3.send(new GetObjectCommand({ Bucket, Key: "multi/100m.bin", Range: `bytes=${60 * MiB}-${70 * MiB - 1}` }));
  assert.equal(ranged.ContentLength, 10 * MiB);
  assert.equal((await ranged.Body?.transformToByteArray())?.length, 10 * MiB);
  assert.equal(
    await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "big/8m.bin", Range: `bytes=${9 * MiB}-` }))),
    "416 InvalidRange",
  );

  // Listing: pagination and delimiters.
  for (let i = 0; i < 7; i++) await s3.send(new PutObjectCommand({ Bucket, Key: `list/k${i}`, Body: `v${i}` }));
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  let pages = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "list/", MaxKeys: 3, ContinuationToken }));
    keys.push(...(page.Contents ?? []).map((c) => c.Key as string));
    ContinuationToken = page.NextContinuationToken;
    pages++;
  } while (ContinuationToken);
  assert.equal(pages, 3);
  assert.deepEqual(
    keys,
    [0, 1, 2, 3, 4, 5, 6].map((i) => `list/k${i}`),
  );
  const top = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }));
  assert.deepEqual(
    top.Contents?.map((c) => c.Key),
    ["empty", "streamed.bin"],
  );
  assert.deepEqual(
    top.CommonPrefixes?.map((c) => c.Prefix),
    ["big/", "list/", "multi/", "small/"],
  );
  const v1 = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: "/", MaxKeys: 2, Marker: "big/" }));
  assert.deepEqual([...(v1.Contents ?? []).map((c) => c.Key), ...(v1.CommonPrefixes ?? []).map((c) => c.Prefix)].sort(), [
    "empty",
    "list/",
  ]);
  assert.equal(v1.IsTruncated, true);
  assert.equal(v1.NextMarker, "list/");

  // Copy.
  await s3.send(new CopyObjectCommand({ Bucket, Key: "copy/of-8m", CopySource: `${Bucket}/big/8m.bin` }));
  const copied = await s3.send(new HeadObjectCommand({ Bucket, Key: "copy/of-8m" }));
  assert.equal(copied.ETag, `"${md5(eight)}"`);
  assert.equal(copied.Metadata?.color, "blue");

  // Errors.
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket: "no-such-bucket", Key: "x" }))), "404 NoSuchBucket");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "no/such/key" }))), "404 NoSuchKey");
  assert.equal(await s3Outcome(s3.send(new HeadObjectCommand({ Bucket, Key: "list" }))), "404 NotFound");
  assert.equal(await s3Outcome(s3.send(new DeleteBucketCommand({ Bucket }))), "409 BucketNotEmpty");

  // Delete many, then the bucket.
  const all = await s3.send(new ListObjectsV2Command({ Bucket }));
  const del = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: (all.Contents ?? []).map((c) => ({ Key: c.Key })) } }));
  assert.equal(del.Deleted?.length, all.KeyCount);
  assert.equal(del.Errors, undefined);
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "already/gone" }));
  const after = await s3.send(new ListObjectsV2Command({ Bucket }));
  assert.equal(after.KeyCount, 0);
  await s3.send(new DeleteBucketCommand({ Bucket }));
  assert.equal(await s3Outcome(s3.send(new HeadBucketCommand({ Bucket }))), "404 NotFound");
  assert.equal(existsSync(join(cluster.home, "ufs", Bucket)), false, "nothing is left in the under-store");
});

test("@aws-sdk/s3-request-presigner - presigned GET and PUT, and the checksum a default presigned PUT carries", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  const whenRequired = new S3Client({
    endpoint: cluster.s3Url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  t.after(() => {
    s3.destroy();
    whenRequired.destroy();
  });
  await s3.send(new CreateBucketCommand({ Bucket: "signed" }));

  const putUrl = await getSignedUrl(whenRequired, new PutObjectCommand({ Bucket: "signed", Key: "by-url" }), { expiresIn: 600 });
  assert.equal((await fetch(putUrl, { method: "PUT", body: "uploaded" })).status, 200);
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "signed", Key: "by-url" }), { expiresIn: 600 });
  assert.equal(await (await fetch(getUrl)).text(), "uploaded");

  // With default checksum settings the SDK signs x-amz-checksum-crc32 of an empty body into the URL:
  // S3 refuses the real upload, and so does koine (the client fix: requestChecksumCalculation WHEN_REQUIRED).
  const defaultPut = await getSignedUrl(s3, new PutObjectCommand({ Bucket: "signed", Key: "default" }), { expiresIn: 600 });
  assert.match(defaultPut, /x-amz-checksum-crc32=AAAAAA/);
  const res = await fetch(defaultPut, { method: "PUT", body: "not empty" });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /<Code>BadDigest<\/Code>/);
  assert.equal(await s3Outcome(s3.send(new HeadObjectCommand({ Bucket: "signed", Key: "default" }))), "404 NotFound");
});
