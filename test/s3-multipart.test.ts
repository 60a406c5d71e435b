import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { presignUrl, s3Client, s3Outcome, signedRequest, TEST_CREDENTIALS } from "@koine/testkit/clients";

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash("md5").update(b).digest();

test("multipart - listing, parts joined only as listed, and S3's refusals", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "parts";
  const Key = "dir/object";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: "text/x-parts" }));
  const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(100)];
  const etags: string[] = [];
  for (const [i, Body] of parts.entries()) {
    const res = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
    etags.push(res.ETag as string);
  }
  // A part uploaded again replaces the earlier one.
  parts[1] = randomBytes(5 * MiB);
  etags[1] = (await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: parts[1] }))).ETag as string;

  const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, MaxParts: 2 }));
  assert.deepEqual(
    listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]),
    [
      [1, etags[0], 5 * MiB],
      [2, etags[1], 5 * MiB],
    ],
  );
  assert.equal(listed.IsTruncated, true);
  const rest = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: listed.NextPartNumberMarker }));
  assert.deepEqual(
    rest.Parts?.map((p) => p.PartNumber),
    [3],
  );
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
  assert.deepEqual(
    uploads.Uploads?.map((u) => [u.Key, u.UploadId]),
    [[Key, UploadId]],
  );
  assert.equal((await s3.send(new ListObjectsV2Command({ Bucket }))).KeyCount, 0, "an upload is not an object");

  const complete = (Parts: { PartNumber: number; ETag: string }[]) =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
  assert.equal(
    await s3Outcome(
      complete([
        { PartNumber: 2, ETag: etags[1] as string },
        { PartNumber: 1, ETag: etags[0] as string },
      ]),
    ),
    "400 InvalidPartOrder",
  );
  assert.equal(await s3Outcome(complete([{ PartNumber: 1, ETag: `"${"0".repeat(32)}"` }])), "400 InvalidPart");
  assert.equal(
    await s3Outcome(
      complete([
        { PartNumber: 3, ETag: etags[2] as string },
        { PartNumber: 4, ETag: etags[2] as string },
      ]),
    ),
    "400 InvalidPart",
  );
  // Parts 1 and 3 only: part 2 is left out of the object.
  await complete([
    { PartNumber: 1, ETag: etags[0] as string },
    { PartNumber: 3, ETag: etags[2] as string },
  ]);
  const expected = Buffer.concat([parts[0] as Buffer, parts[2] as Buffer]);
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
  const md5s = createHash("md5")
    .update(Buffer.concat([md5(parts[0] as Buffer), md5(parts[2] as Buffer)]))
    .digest("hex");
  assert.equal(head.ETag, `"${md5s}-2"`);
  assert.equal(head.ContentType, "text/x-parts");
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(expected));
  assert.equal(await s3Outcome(s3.send(new ListPartsCommand({ Bucket, Key, UploadId }))), "404 NoSuchUpload");
  // Completing again answers the same (a client retrying after a lost reply); the upload takes no more parts.
  const again = await complete([
    { PartNumber: 1, ETag: etags[0] as string },
    { PartNumber: 3, ETag: etags[2] as string },
  ]);
  assert.equal(again.ETag, head.ETag);
  assert.equal(await s3Outcome(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 4, Body: "late" }))), "404 NoSuchUpload");

  // UploadPartCopy, whole and ranged, from the object just made.
  const copyUpload = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "copied" }));
  const whole = await s3.send(
    new UploadPartCopyCommand({ Bucket, Key: "copied", UploadId: copyUpload.UploadId, PartNumber: 1, CopySource: `${Bucket}/${Key}` }),
  );
  const ranged = await s3.send(
    new UploadPartCopyCommand({
      Bucket,
      Key: "copied",
      UploadId: copyUpload.UploadId,
      PartNumber: 2,
      CopySource: `${Bucket}/${Key}`,
      CopySourceRange: "bytes=100-199",
    }),
  );
  assert.equal(
    await s3Outcome(
      s3.send(
        new UploadPartCopyCommand({
          Bucket,
          Key: "copied",
          UploadId: copyUpload.UploadId,
          PartNumber: 3,
          CopySource: `${Bucket}/${Key}`,
          CopySourceRange: `bytes=0-${expected.length}`,
        }),
      ),
    ),
    "400 InvalidArgument",
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key: "copied",
      UploadId: copyUpload.UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: whole.CopyPartResult?.ETag as string },
          { PartNumber: 2, ETag: ranged.CopyPartResult?.ETag as string },
        ],
      },
    }),
  );
  const copiedBytes = await s3.send(new GetObjectCommand({ Bucket, Key: "copied" }));
  assert.ok(
    Buffer.from(await (copiedBytes.Body?.transformToByteArray() ?? [])).equals(Buffer.concat([expected, expected.subarray(100, 200)])),
  );
  assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads, undefined);

  // Parts under 5 MiB other than the last are refused; an aborted upload is gone.
  const small = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "small" }));
  const a = await s3.send(new UploadPartCommand({ Bucket, Key: "small", UploadId: small.UploadId, PartNumber: 1, Body: randomBytes(MiB) }));
  const b = await s3.send(new UploadPartCommand({ Bucket, Key: "small", UploadId: small.UploadId, PartNumber: 2, Body: randomBytes(10) }));
  const smallParts = [
    { PartNumber: 1, ETag: a.ETag as string },
    { PartNumber: 2, ETag: b.ETag as string },
  ];
  assert.equal(
    await s3Outcome(
      s3.send(
        new CompleteMultipartUploadCommand({ Bucket, Key: "small", UploadId: small.UploadId, MultipartUpload: { Parts: smallParts } }),
      ),
    ),
    "400 EntityTooSmall",
  );
  await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: "small", UploadId: small.UploadId }));
  assert.equal(
    await s3Outcome(s3.send(new UploadPartCommand({ Bucket, Key: "small", UploadId: small.UploadId, PartNumber: 3, Body: "x" }))),
    "404 NoSuchUpload",
  );
  assert.equal(await s3Outcome(s3.send(new HeadObjectCommand({ Bucket, Key: "small" }))), "404 NotFound");
});

test("s3 - folder objects, URL-encoded listings, presigned URLs, huge headers", async (t) => {
  const cluster = await bootCluster(t);
  const endpoint = cluster.s3Url;
  const s3 = s3Client(endpoint);
  t.after(() => s3.destroy());
  const Bucket = "shapes";
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutObjectCommand({ Bucket, Key: "folder/", Body: "" }));
  await s3.send(new PutObjectCommand({ Bucket, Key: "folder/inner", Body: "in" }));
  await s3.send(new PutObjectCommand({ Bucket, Key: "sp ace+plus/ünï😀", Body: "u" }));
  const all = await s3.send(new ListObjectsV2Command({ Bucket }));
  assert.deepEqual(
    all.Contents?.map((c) => [c.Key, c.Size]),
    [
      ["folder/", 0],
      ["folder/inner", 2],
      ["sp ace+plus/ünï😀", 1],
    ],
  );
  const top = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }));
  assert.deepEqual(
    top.CommonPrefixes?.map((p) => p.Prefix),
    ["folder/", "sp ace+plus/"],
  );
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "folder/" }))).ContentLength, 0);
  // A key ending in "/" holds bytes like any other, a multipart upload's too.
  const folderUpload = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "other/" }));
  const UploadId = folderUpload.UploadId as string;
  const folderPart = await s3.send(new UploadPartCommand({ Bucket, Key: "other/", UploadId, PartNumber: 1, Body: "not empty" }));
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key: "other/",
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: folderPart.ETag }] },
    }),
  );
  assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: "other/" }))).Body?.transformToString(), "not empty");
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "other/" }));
  // A key beside a folder of the same name: both are there.
  await s3.send(new PutObjectCommand({ Bucket, Key: "folder", Body: "x" }));
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "folder" }))).ContentLength, 1);
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "folder/" }))).ContentLength, 0);
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "folder" }));

  // Presigned GET and PUT; an expired URL is refused.
  const put = await fetch(await presignUrl(endpoint, "PUT", "/shapes/presigned", TEST_CREDENTIALS), { method: "PUT", body: "by url" });
  assert.equal(put.status, 200);
  const get = await fetch(await presignUrl(endpoint, "GET", "/shapes/presigned", TEST_CREDENTIALS));
  assert.equal(await get.text(), "by url");
  const expiring = await presignUrl(endpoint, "GET", "/shapes/presigned", TEST_CREDENTIALS, 1);
  assert.equal((await fetch(expiring)).status, 200);
  await new Promise((r) => setTimeout(r, 2100));
  const expired = await fetch(expiring);
  assert.equal(expired.status, 403);
  assert.match(await expired.text(), /<Code>AccessDenied<\/Code><Message>Request has expired/);

  // Headers beyond Node's 16 KiB limit: an S3 error, and the server goes on.
  const huge = await signedRequest(endpoint, {
    method: "GET",
    path: "/shapes/presigned",
    ...TEST_CREDENTIALS,
    headers: { "x-amz-meta-huge": "h".repeat(20_000) },
  });
  assert.equal(huge.status, 400);
  assert.match(huge.body, /<Code>RequestHeaderSectionTooLarge<\/Code>/);
  assert.equal((await fetch(await presignUrl(endpoint, "GET", "/shapes/presigned", TEST_CREDENTIALS))).status, 200);
});
