import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketCorsCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ObjectAttributes,
  PutBucketCorsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { ADMIN_AND_BOB, BOB, presignUrl, s3Client, s3Outcome, signedRequest, signHeaders, TEST_CREDENTIALS } from "@koine/testkit/clients";

const MiB = 1024 * 1024;

/** The text of every <name>…</name> in an XML answer, in order. */
function elements(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) => m[1] as string);
}

test("s3 details - listings: max-keys=0, an empty continuation token, encoding-type=url on every name; ListBuckets pages", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "details";
  await s3.send(new CreateBucketCommand({ Bucket }));
  // In S3's order: by UTF-8 bytes.
  const keys = ["a b/1", "a b/2", "c+d", "plain", "é/x"];
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));

  for (const list of [
    () => s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 0 })),
    () => s3.send(new ListObjectsCommand({ Bucket, MaxKeys: 0 })),
  ]) {
    const page = await list();
    assert.equal(page.Contents, undefined);
    assert.equal(page.IsTruncated, false, "max-keys=0 is an empty page, not a truncated one");
  }
  const fromStart = await s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken: "" }));
  assert.equal(fromStart.ContinuationToken, "");
  assert.deepEqual(
    fromStart.Contents?.map((c) => c.Key),
    keys,
  );
  const get = (query: Record<string, string>) =>
    signedRequest(cluster.s3Url, { method: "GET", path: `/${Bucket}`, query, ...TEST_CREDENTIALS });

  const v2 = await get({ "list-type": "2", "encoding-type": "url", delimiter: "/", "start-after": "a b/1" });
  assert.equal(v2.status, 200, v2.body);
  assert.deepEqual(elements(v2.body, "Key"), ["c%2Bd", "plain"]);
  assert.deepEqual(elements(v2.body, "Prefix").slice(1), ["%C3%A9/"], "common prefixes encoded");
  assert.deepEqual(elements(v2.body, "StartAfter"), ["a%20b/1"]);
  const prefixed = await get({ "list-type": "2", "encoding-type": "url", prefix: "a b/", delimiter: "é" });
  assert.deepEqual(elements(prefixed.body, "Prefix"), ["a%20b/"]);
  assert.deepEqual(elements(prefixed.body, "Delimiter"), ["%C3%A9"]);
  const v1 = await get({ "encoding-type": "url", marker: "a b/1", "max-keys": "1", delimiter: "/" });
  assert.deepEqual(elements(v1.body, "Marker"), ["a%20b/1"]);
  assert.deepEqual(elements(v1.body, "NextMarker"), ["c%2Bd"]);
  const versions = await get({ versions: "", "encoding-type": "url", "key-marker": "a b/1", "max-keys": "1" });
  assert.deepEqual(elements(versions.body, "KeyMarker"), ["a%20b/1"]);
  assert.deepEqual(elements(versions.body, "NextKeyMarker"), ["a%20b/2"]);
  await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "up load" }));
  const uploads = await get({ uploads: "", "encoding-type": "url", prefix: "up " });
  assert.deepEqual(elements(uploads.body, "Key"), ["up%20load"]);
  assert.deepEqual(elements(uploads.body, "Prefix"), ["up%20"]);

  // ListBuckets: pages of max-buckets, by continuation token, below a prefix.
  for (const name of ["pages-1", "pages-2", "pages-3"]) await s3.send(new CreateBucketCommand({ Bucket: name }));
  const first = await s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: "pages-" }));
  assert.deepEqual(
    first.Buckets?.map((b) => b.Name),
    ["pages-1", "pages-2"],
  );
  assert.equal(first.Prefix, "pages-");
  assert.ok(first.ContinuationToken);
  const second = await s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: "pages-", ContinuationToken: first.ContinuationToken }));
  assert.deepEqual(
    second.Buckets?.map((b) => b.Name),
    ["pages-3"],
  );
  assert.equal(second.ContinuationToken, undefined);
  assert.equal(await s3Outcome(s3.send(new ListBucketsCommand({ MaxBuckets: 10001 }))), "400 InvalidArgument");
});

test("s3 details - Content-Encoding as sent, presigned expiry edges, keys that are not UTF-8, bucket re-creation as us-east-1 answers", async (t) => {
  const cluster = await bootCluster(t, ADMIN_AND_BOB);
  const s3 = s3Client(cluster.s3Url);
  const bob = s3Client(cluster.s3Url, BOB);
  t.after(() => {
    s3.destroy();
    bob.destroy();
  });
  const Bucket = "edges";
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutObjectCommand({ Bucket, Key: "zipped", Body: "x", ContentEncoding: "gzip, deflate" }));
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "zipped" }))).ContentEncoding, "gzip, deflate");

  const presigned = async (expires: number) => {
    const url = new URL(await presignUrl(cluster.s3Url, "GET", `/${Bucket}/zipped`, TEST_CREDENTIALS, 600));
    url.searchParams.set("X-Amz-Expires", String(expires));
    const res = await fetch(url);
    const code = /<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1];
    return `${res.status}${code ? ` ${code}` : ""}`;
  };
  assert.equal(await presigned(600), "200", "an unexpired URL reads");
  assert.equal(await presigned(0), "403 AccessDenied", "a window of 0 s has passed");
  assert.equal(await presigned(-1), "400 AuthorizationQueryParametersError");
  assert.equal(await presigned(604801), "400 AuthorizationQueryParametersError", "more than a week");

  const notUtf8 = await signedRequest(cluster.s3Url, { method: "GET", path: `/${Bucket}/%FF%FE`, ...TEST_CREDENTIALS });
  assert.equal(notUtf8.status, 400);
  assert.match(notUtf8.body, /<Code>InvalidURI<\/Code>/);

  // us-east-1 answers a bucket's owner 200 when it creates it again (and resets its ACL); anyone else 409.
  assert.equal(await s3Outcome(s3.send(new CreateBucketCommand({ Bucket }))), "ok");
  assert.equal(await s3Outcome(bob.send(new CreateBucketCommand({ Bucket }))), "409 BucketAlreadyExists");

  // A copy with a canned ACL has that ACL.
  await s3.send(new CopyObjectCommand({ Bucket, Key: "copy", CopySource: `${Bucket}/zipped`, ACL: "public-read" }));
  const acl = await s3.send(new GetObjectAclCommand({ Bucket, Key: "copy" }));
  assert.ok(acl.Grants?.some((g) => g.Grantee?.URI === "http://acs.amazonaws.com/groups/global/AllUsers" && g.Permission === "READ"));
  assert.equal((await fetch(`${cluster.s3Url}/${Bucket}/copy`)).status, 200, "anyone reads it");

  // The operations this change added refuse a stranger, and answer bad input 4xx.
  const attributes = (as: S3Client, ObjectAttributes: string[]) =>
    s3Outcome(as.send(new GetObjectAttributesCommand({ Bucket, Key: "zipped", ObjectAttributes: ObjectAttributes as ObjectAttributes[] })));
  assert.equal(await attributes(s3, ["ObjectSize"]), "ok");
  assert.equal(await attributes(bob, ["ObjectSize"]), "403 AccessDenied", "reading attributes is reading the object");
  assert.equal(await attributes(s3, []), "400 InvalidArgument");
  assert.equal(await attributes(s3, ["Bogus"]), "400 InvalidArgument");
  const rule = { AllowedOrigins: ["*"], AllowedMethods: ["GET"] };
  assert.equal(
    await s3Outcome(bob.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [rule] } }))),
    "403 AccessDenied",
    "a bucket's CORS rules are its owner's",
  );
  assert.equal(await s3Outcome(bob.send(new GetBucketCorsCommand({ Bucket }))), "403 AccessDenied");
  const malformed = await signedRequest(cluster.s3Url, {
    method: "PUT",
    path: `/${Bucket}`,
    query: { cors: "" },
    body: "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    ...TEST_CREDENTIALS,
  });
  assert.equal(malformed.status, 400, "a rule with no origin");
  assert.match(malformed.body, /<Code>MalformedXML<\/Code>/);
});

test("s3 details - a part uploaded again while its first upload is still being received: the last to finish wins", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "again";
  const Key = "object";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const slowBytes = randomBytes(MiB);
  const fastBytes = randomBytes(MiB);
  // The slow upload sends half its part, waits for the fast one to finish, then the rest.
  const path = `/${Bucket}/${Key}`;
  const query = { partNumber: "1", uploadId: UploadId as string };
  const headers = await signHeaders(cluster.s3Url, {
    method: "PUT",
    path,
    query,
    headers: { "content-length": String(slowBytes.length) },
    payloadHash: "UNSIGNED-PAYLOAD",
    ...TEST_CREDENTIALS,
  });
  const url = new URL(cluster.s3Url);
  let release: () => void = () => {};
  const slow = new Promise<{ status: number; etag: string }>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: "PUT", path: `${path}?${new URLSearchParams(query)}`, headers },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, etag: String(res.headers.etag) }));
      },
    );
    req.on("error", reject);
    req.write(slowBytes.subarray(0, MiB / 2));
    release = () => req.end(slowBytes.subarray(MiB / 2));
  });
  await sleep(200);
  const fast = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: fastBytes }));
  release();
  const slowDone = await slow;
  assert.equal(slowDone.status, 200);
  const complete = (ETag: string) =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
  assert.equal(await s3Outcome(complete(fast.ETag as string)), "400 InvalidPart", "the first to finish was replaced");
  await complete(slowDone.etag);
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(slowBytes), "the object is the last finisher's bytes");
});
