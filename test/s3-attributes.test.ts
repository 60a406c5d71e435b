import assert from "node:assert/strict";
import { Agent } from "node:http";
import { test } from "node:test";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { presignUrl, s3Client, s3Outcome, signedRequest, TEST_CREDENTIALS } from "@koine/testkit/clients";
import { NodeHttpHandler } from "@smithy/node-http-handler";

test("s3 - stored headers, conditional reads, copies and writes, null versions", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "cond";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const put = await s3.send(
    new PutObjectCommand({
      Bucket,
      Key: "doc",
      Body: "contents",
      CacheControl: "max-age=60",
      ContentDisposition: 'attachment; filename="doc.txt"',
      ContentEncoding: "identity",
      ContentLanguage: "en",
      Expires: new Date("2030-01-01T00:00:00Z"),
    }),
  );
  const etag = put.ETag as string;

  // Stored headers come back; a presigned GET may override them.
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "doc" }));
  assert.equal(head.CacheControl, "max-age=60");
  assert.equal(head.ContentDisposition, 'attachment; filename="doc.txt"');
  assert.equal(head.ContentEncoding, "identity");
  assert.equal(head.ContentLanguage, "en");
  assert.equal(head.ExpiresString ?? head.Expires?.toUTCString(), "Tue, 01 Jan 2030 00:00:00 GMT");
  const url = await presignUrl(cluster.s3Url, "GET", "/cond/doc", TEST_CREDENTIALS, 600, {
    "response-content-type": "text/plain",
    "response-cache-control": "no-store",
  });
  const overridden = await fetch(url);
  assert.equal(overridden.headers.get("content-type"), "text/plain");
  assert.equal(overridden.headers.get("cache-control"), "no-store");

  // Conditional GET and HEAD.
  const past = new Date(Date.now() - 3600_000);
  const future = new Date(Date.now() + 3600_000);
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", IfMatch: etag }))), "ok");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", IfMatch: '"0000"' }))), "412 PreconditionFailed");
  assert.equal(await s3Outcome(s3.send(new HeadObjectCommand({ Bucket, Key: "doc", IfNoneMatch: etag }))), "304");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", IfNoneMatch: '"other"' }))), "ok");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", IfModifiedSince: future }))), "304");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", IfModifiedSince: past }))), "ok");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", IfUnmodifiedSince: past }))), "412 PreconditionFailed");
  // If-Match that holds wins over If-Unmodified-Since that does not (RFC 7232, as S3).
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", IfMatch: etag, IfUnmodifiedSince: past }))), "ok");

  // Conditional copy.
  const copy = (extra: Record<string, unknown>) =>
    s3.send(new CopyObjectCommand({ Bucket, Key: "copy", CopySource: `${Bucket}/doc`, ...extra }));
  assert.equal(await s3Outcome(copy({ CopySourceIfMatch: '"nope"' })), "412 PreconditionFailed");
  assert.equal(await s3Outcome(copy({ CopySourceIfNoneMatch: etag })), "412 PreconditionFailed");
  assert.equal(await s3Outcome(copy({ CopySourceIfMatch: etag })), "ok");
  const copied = await s3.send(new HeadObjectCommand({ Bucket, Key: "copy" }));
  assert.equal(copied.CacheControl, "max-age=60", "COPY keeps the stored headers");

  // Conditional PUT.
  assert.equal(
    await s3Outcome(s3.send(new PutObjectCommand({ Bucket, Key: "doc", Body: "x", IfNoneMatch: "*" }))),
    "412 PreconditionFailed",
  );
  assert.equal(await s3Outcome(s3.send(new PutObjectCommand({ Bucket, Key: "new", Body: "x", IfNoneMatch: "*" }))), "ok");
  assert.equal(
    await s3Outcome(s3.send(new PutObjectCommand({ Bucket, Key: "doc", Body: "y", IfMatch: '"stale"' }))),
    "412 PreconditionFailed",
  );
  assert.equal(await s3Outcome(s3.send(new PutObjectCommand({ Bucket, Key: "doc", Body: "y", IfMatch: etag }))), "ok");
  const after = await s3.send(new GetObjectCommand({ Bucket, Key: "doc" }));
  assert.equal(await after.Body?.transformToString(), "y");

  // Unversioned buckets: the one version is "null".
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  assert.deepEqual(
    versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest]),
    [
      ["copy", "null", true],
      ["doc", "null", true],
      ["new", "null", true],
    ],
  );
  const byNull = await s3.send(new GetObjectCommand({ Bucket, Key: "doc", VersionId: "null" }));
  assert.equal(await byNull.Body?.transformToString(), "y");
  assert.equal(
    await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", VersionId: "3HL4kqtJlcpXroDTDmJ" }))),
    "400 InvalidArgument",
  );
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "new", VersionId: "null" }));
  assert.equal(await s3Outcome(s3.send(new HeadObjectCommand({ Bucket, Key: "new" }))), "404 NotFound");
});

test("s3 - object and bucket tagging", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "tags";
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutObjectCommand({ Bucket, Key: "obj", Body: "x", Tagging: "team=data&tier=hot%20cold" }));
  const got = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "obj" }));
  assert.deepEqual(got.TagSet, [
    { Key: "team", Value: "data" },
    { Key: "tier", Value: "hot cold" },
  ]);
  assert.equal((await s3.send(new GetObjectCommand({ Bucket, Key: "obj" }))).TagCount, 2);

  await s3.send(new PutObjectTaggingCommand({ Bucket, Key: "obj", Tagging: { TagSet: [{ Key: "only", Value: "one" }] } }));
  assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "obj" }))).TagSet, [{ Key: "only", Value: "one" }]);
  await s3.send(new CopyObjectCommand({ Bucket, Key: "copy", CopySource: `${Bucket}/obj` }));
  assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "copy" }))).TagSet, [{ Key: "only", Value: "one" }]);
  await s3.send(
    new CopyObjectCommand({ Bucket, Key: "copy2", CopySource: `${Bucket}/obj`, TaggingDirective: "REPLACE", Tagging: "fresh=yes" }),
  );
  assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "copy2" }))).TagSet, [{ Key: "fresh", Value: "yes" }]);
  await s3.send(new DeleteObjectTaggingCommand({ Bucket, Key: "obj" }));
  assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "obj" }))).TagSet, []);

  const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
  assert.equal(
    await s3Outcome(s3.send(new PutObjectTaggingCommand({ Bucket, Key: "obj", Tagging: { TagSet: eleven } }))),
    "400 InvalidTag",
  );
  assert.equal(await s3Outcome(s3.send(new GetObjectTaggingCommand({ Bucket, Key: "missing" }))), "404 NoSuchKey");

  assert.equal(await s3Outcome(s3.send(new GetBucketTaggingCommand({ Bucket }))), "404 NoSuchTagSet");
  await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: [{ Key: "cost", Value: "center" }] } }));
  assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, [{ Key: "cost", Value: "center" }]);
  await s3.send(new DeleteBucketTaggingCommand({ Bucket }));
  assert.equal(await s3Outcome(s3.send(new GetBucketTaggingCommand({ Bucket }))), "404 NoSuchTagSet");
});

test("s3 - checksums sent with a PUT are verified, kept, and returned on full reads when asked", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "sums";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const body = Buffer.from("checksummed bytes");
  for (const algorithm of ["CRC32", "CRC32C", "SHA1", "SHA256"] as const) {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: algorithm, Body: body, ChecksumAlgorithm: algorithm }));
    const sent = put[`Checksum${algorithm}`];
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: algorithm, ChecksumMode: "ENABLED" }));
    assert.equal(await got.Body?.transformToString(), body.toString());
    assert.ok(got[`Checksum${algorithm}`], `${algorithm} returned`);
    if (sent) assert.equal(got[`Checksum${algorithm}`], sent);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: algorithm, ChecksumMode: "ENABLED" }));
    assert.equal(head[`Checksum${algorithm}`], got[`Checksum${algorithm}`]);
    const ranged = await s3.send(new GetObjectCommand({ Bucket, Key: algorithm, ChecksumMode: "ENABLED", Range: "bytes=0-3" }));
    assert.equal(ranged[`Checksum${algorithm}`], undefined, "never a whole-object checksum on a range");
    await ranged.Body?.transformToString();
  }
  // The SDK asks by default (x-amz-checksum-mode: ENABLED); a request that does not ask gets none.
  const plain = await signedRequest(cluster.s3Url, { method: "GET", path: "/sums/CRC32C", ...TEST_CREDENTIALS });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers["x-amz-checksum-crc32c"], undefined);

  const wrong = await signedRequest(cluster.s3Url, {
    method: "PUT",
    path: "/sums/wrong",
    ...TEST_CREDENTIALS,
    body: "data",
    headers: { "x-amz-checksum-crc32c": "AAAAAA==" },
  });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body, /<Code>BadDigest<\/Code>/);
  assert.equal(await s3Outcome(s3.send(new HeadObjectCommand({ Bucket, Key: "wrong" }))), "404 NotFound");
});

test("s3 - virtual-hosted-style requests (<bucket>.localhost) reach the same buckets", async (t) => {
  const cluster = await bootCluster(t);
  const port = new URL(cluster.s3Url).port;
  // As /etc/hosts or DNS would do: every *.localhost is this machine.
  const lookup = ((_host: string, options: unknown, callback: (...args: unknown[]) => void) => {
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all;
    if (all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
  }) as unknown as typeof import("node:dns").lookup;
  const vhost = new S3Client({
    endpoint: `http://localhost:${port}`,
    region: "us-east-1",
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ lookup }) }),
  });
  const path = s3Client(cluster.s3Url);
  t.after(() => {
    vhost.destroy();
    path.destroy();
  });
  await vhost.send(new CreateBucketCommand({ Bucket: "hosted" }));
  await vhost.send(new PutObjectCommand({ Bucket: "hosted", Key: "dir/file.txt", Body: "by host name" }));
  const viaPath = await path.send(new GetObjectCommand({ Bucket: "hosted", Key: "dir/file.txt" }));
  assert.equal(await viaPath.Body?.transformToString(), "by host name");
  const listed = await vhost.send(new ListObjectsV2Command({ Bucket: "hosted", Delimiter: "/" }));
  assert.deepEqual(
    listed.CommonPrefixes?.map((p) => p.Prefix),
    ["dir/"],
  );
  const got = await vhost.send(new GetObjectCommand({ Bucket: "hosted", Key: "dir/file.txt", Range: "bytes=3-6" }));
  assert.equal(await got.Body?.transformToString(), "host");
});
