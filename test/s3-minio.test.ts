import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { bootCluster } from "@koine/launcher";
import { TEST_CREDENTIALS } from "@koine/testkit/clients";
import * as Minio from "minio";

const MiB = 1024 * 1024;

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

test("s3 with the MinIO JavaScript client: buckets, objects, multipart, copies, listings, presigned GET and POST, versioning", async (t) => {
  const cluster = await bootCluster(t);
  const url = new URL(cluster.s3Url);
  const minio = new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: TEST_CREDENTIALS.accessKeyId,
    secretKey: TEST_CREDENTIALS.secretAccessKey,
    region: "us-east-1",
    pathStyle: true,
    partSize: 5 * MiB,
  });
  const bucket = "mio";
  await minio.makeBucket(bucket);
  assert.ok(await minio.bucketExists(bucket));
  assert.ok((await minio.listBuckets()).some((b) => b.name === bucket));

  await minio.putObject(bucket, "docs/note.txt", "hello minio", undefined, { "Content-Type": "text/plain", "X-Amz-Meta-Color": "blue" });
  const stat = await minio.statObject(bucket, "docs/note.txt");
  assert.equal(stat.size, 11);
  assert.equal(stat.metaData["content-type"], "text/plain");
  assert.equal(stat.metaData.color, "blue");
  assert.equal((await readAll(await minio.getObject(bucket, "docs/note.txt"))).toString(), "hello minio");
  assert.equal((await readAll(await minio.getPartialObject(bucket, "docs/note.txt", 6, 5))).toString(), "minio");

  // A Buffer larger than the part size goes up as a multipart upload (the client picks the part size).
  const big = randomBytes(12 * MiB);
  const put = await minio.putObject(bucket, "data/big.bin", big, big.length);
  assert.match(put.etag, /-\d+$/, "a multipart ETag");
  assert.ok((await readAll(await minio.getObject(bucket, "data/big.bin"))).equals(big));

  const conditions = new Minio.CopyConditions();
  conditions.setMatchETag(stat.etag);
  await minio.copyObject(bucket, "docs/copy.txt", `/${bucket}/docs/note.txt`, conditions);
  assert.equal((await readAll(await minio.getObject(bucket, "docs/copy.txt"))).toString(), "hello minio");

  const listed = await collect(minio.listObjectsV2(bucket, "", true));
  assert.deepEqual(
    listed.map((o) => o.name),
    ["data/big.bin", "docs/copy.txt", "docs/note.txt"],
  );
  const top = await collect(minio.listObjects(bucket, "", false));
  assert.deepEqual(
    top.map((o) => o.prefix ?? o.name),
    ["data/", "docs/"],
  );

  const presigned = await minio.presignedGetObject(bucket, "docs/note.txt", 60);
  assert.equal(await (await fetch(presigned)).text(), "hello minio");

  // A browser upload made with the client's post policy.
  const policy = minio.newPostPolicy();
  policy.setBucket(bucket);
  policy.setKey("uploads/form.txt");
  policy.setContentType("text/plain");
  policy.setContentLengthRange(1, 1024);
  policy.setExpires(new Date(Date.now() + 600_000));
  const { postURL, formData } = await minio.presignedPostPolicy(policy);
  const form = new FormData();
  for (const [name, value] of Object.entries(formData)) form.append(name, String(value));
  form.append("file", new Blob(["posted by a form"], { type: "text/plain" }));
  const posted = await fetch(postURL, { method: "POST", body: form });
  assert.equal(posted.status, 204, await posted.text());
  assert.equal((await readAll(await minio.getObject(bucket, "uploads/form.txt"))).toString(), "posted by a form");
  const tooBig = new FormData();
  for (const [name, value] of Object.entries(formData)) tooBig.append(name, String(value));
  tooBig.append("file", new Blob([randomBytes(2048)], { type: "text/plain" }));
  assert.equal((await fetch(postURL, { method: "POST", body: tooBig })).status, 400, "past the policy's content-length-range");

  const versioning = (await minio.getBucketVersioning(bucket)) as { Status?: string } | "";
  assert.equal(versioning === "" ? undefined : versioning.Status, undefined, "never versioned: an empty configuration");
  await minio.removeObjects(bucket, ["docs/note.txt", "docs/copy.txt", "data/big.bin", "uploads/form.txt"]);
  assert.deepEqual(await collect(minio.listObjectsV2(bucket, "", true)), []);
  await minio.removeBucket(bucket);
  assert.equal(await minio.bucketExists(bucket), false);

  // Versioning, as the client drives it.
  const versioned = "minio-versions";
  await minio.makeBucket(versioned);
  await minio.setBucketVersioning(versioned, { Status: "Enabled" });
  assert.equal(((await minio.getBucketVersioning(versioned)) as { Status?: string }).Status, "Enabled");
  const v1 = await minio.putObject(versioned, "doc", Buffer.from("first"));
  const v2 = await minio.putObject(versioned, "doc", Buffer.from("second"));
  assert.ok(v1.versionId && v2.versionId && v1.versionId !== v2.versionId);
  assert.equal((await readAll(await minio.getObject(versioned, "doc", { versionId: v1.versionId }))).toString(), "first");
  assert.equal((await minio.statObject(versioned, "doc", { versionId: v1.versionId })).size, 5);
  const versionList = (await collect(minio.listObjects(versioned, "", true, { IncludeVersion: true }))) as {
    name: string;
    versionId: string;
    isLatest: boolean;
  }[];
  assert.deepEqual(
    versionList.map((o) => [o.name, o.versionId, o.isLatest]),
    [
      ["doc", v2.versionId, true],
      ["doc", v1.versionId, false],
    ],
  );
  await minio.removeObject(versioned, "doc", { versionId: v2.versionId as string });
  assert.equal((await readAll(await minio.getObject(versioned, "doc"))).toString(), "first");
  await minio.removeObject(versioned, "doc", { versionId: v1.versionId as string });
  await minio.removeBucket(versioned);
});
