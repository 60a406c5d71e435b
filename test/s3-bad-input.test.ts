import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { rawSignedRequest, s3Client, s3Outcome, signedRequest, signHeaders, TEST_CREDENTIALS } from "@koine/testkit/clients";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

function errorCode(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
}

/** Every file below `dir`, relative. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

/**
 * An aws-chunked body with a signature per chunk, as minio-go sends over
 * http; with `trailer`, a signed trailer follows the last chunk.
 */
function signedChunks(
  chunks: Buffer[],
  seed: string,
  amzDate: string,
  secret: string,
  tamperAt = -1,
  trailer?: { line: string; tamper: boolean },
): Buffer {
  const date = amzDate.slice(0, 8);
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), "us-east-1"), "s3"), "aws4_request");
  let previous = seed;
  const parts: Buffer[] = [];
  for (const [i, data] of [...chunks, Buffer.alloc(0)].entries()) {
    let sig = hmac(key, ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previous, sha256(""), sha256(data)].join("\n")).toString("hex");
    previous = sig;
    if (i === tamperAt) sig = sig.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    parts.push(Buffer.from(`${data.length.toString(16)};chunk-signature=${sig}\r\n`), data);
    if (data.length > 0 || !trailer) parts.push(Buffer.from("\r\n"));
  }
  if (trailer) {
    let sig = hmac(key, ["AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previous, sha256(`${trailer.line}\n`)].join("\n")).toString("hex");
    if (trailer.tamper) sig = sig.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    parts.push(Buffer.from(`${trailer.line}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`));
  }
  return Buffer.concat(parts);
}

test("bad input - each gets its S3 error, nothing is written, the server keeps serving", async (t) => {
  const cluster = await bootCluster(t, { bodyIdleTimeoutMs: 1000 });
  const endpoint = cluster.s3Url;
  const s3 = s3Client(endpoint);
  t.after(() => s3.destroy());
  const send = (
    method: string,
    path: string,
    o: { body?: string | Buffer; query?: Record<string, string>; headers?: Record<string, string> } = {},
  ) => signedRequest(endpoint, { method, path, ...TEST_CREDENTIALS, ...o });
  await s3.send(new CreateBucketCommand({ Bucket: "bkt" }));
  await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: "keep", Body: "kept" }));
  const ufs = join(cluster.home, "ufs");
  const before = await filesBelow(ufs);

  // Malformed XML, and XML with entities.
  for (const body of [
    "<Delete><Object><Key>keep</Key></Object>",
    "not xml at all",
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&e;</Key></Object></Delete>',
  ]) {
    const res = await send("POST", "/bkt", { query: { delete: "" }, body });
    assert.equal(res.status, 400, body);
    assert.equal(errorCode(res.body), "MalformedXML");
  }
  const badConfig = await send("PUT", "/newbucket", { body: "<CreateBucketConfiguration><LocationConstraint>" });
  assert.equal(errorCode(badConfig.body), "MalformedXML");
  const upload = await send("POST", "/bkt/mp", { query: { uploads: "" } });
  const uploadId = /<UploadId>([^<]+)</.exec(upload.body)?.[1] as string;
  const badComplete = await send("POST", "/bkt/mp", { query: { uploadId }, body: "<CompleteMultipartUpload><Part>" });
  assert.equal(errorCode(badComplete.body), "MalformedXML");
  // Nesting past the parser's limits is malformed too, not a 500.
  const deep = (root: string) => `<${root}>${"<a>".repeat(20_000)}${"</a>".repeat(20_000)}</${root}>`;
  assert.equal(errorCode((await send("POST", "/bkt", { query: { delete: "" }, body: deep("Delete") })).body), "MalformedXML");
  assert.equal(
    errorCode((await send("POST", "/bkt/mp", { query: { uploadId }, body: deep("CompleteMultipartUpload") })).body),
    "MalformedXML",
  );
  assert.match((await send("GET", "/bkt", { query: { uploads: "" } })).body, new RegExp(uploadId), "the upload is still there");

  // Bad bucket names.
  for (const name of ["ab", "UPPER", "a..b", "-abc", "192.168.1.1", "a_b", "x".repeat(64)]) {
    const res = await send("PUT", `/${name}`);
    assert.equal(res.status, 400, name);
    assert.equal(errorCode(res.body), "InvalidBucketName", name);
  }
  const buckets = await s3.send(new ListBucketsCommand({}));
  assert.deepEqual(
    buckets.Buckets?.map((b) => b.Name),
    ["bkt"],
  );

  // Wrong secret, unknown key, no signature at all.
  const wrong = s3Client(endpoint, { accessKeyId: "koine", secretAccessKey: "wrong" });
  const unknown = s3Client(endpoint, { accessKeyId: "nobody", secretAccessKey: "x" });
  t.after(() => {
    wrong.destroy();
    unknown.destroy();
  });
  assert.equal(await s3Outcome(wrong.send(new PutObjectCommand({ Bucket: "bkt", Key: "w", Body: "w" }))), "403 SignatureDoesNotMatch");
  assert.equal(await s3Outcome(unknown.send(new GetObjectCommand({ Bucket: "bkt", Key: "keep" }))), "403 InvalidAccessKeyId");
  const anonymous = await fetch(`${endpoint}/bkt/keep`);
  assert.equal(anonymous.status, 403);
  assert.equal(errorCode(await anonymous.text()), "AccessDenied");
  const old = await signedRequest(endpoint, {
    method: "GET",
    path: "/bkt/keep",
    ...TEST_CREDENTIALS,
    date: new Date(Date.now() - 20 * 60_000),
  });
  assert.equal(errorCode(old.body), "RequestTimeTooSkewed");

  // A body that does not match its signed hash.
  const mismatch = await signedRequest(endpoint, {
    method: "PUT",
    path: "/bkt/hash",
    ...TEST_CREDENTIALS,
    body: "actual",
    payloadHash: sha256("signed"),
  });
  assert.equal(errorCode(mismatch.body), "XAmzContentSHA256Mismatch");

  // Truncated bodies: the client stops early, or goes quiet.
  const common = { ...TEST_CREDENTIALS, method: "PUT", payloadHash: "UNSIGNED-PAYLOAD", headers: { "content-length": "1000" } };
  const closed = await rawSignedRequest(endpoint, { ...common, path: "/bkt/truncated", send: randomBytes(500), halfClose: true });
  assert.match(closed, /^HTTP\/1.1 400 [\s\S]*<Code>IncompleteBody<\/Code>/);
  const quiet = await rawSignedRequest(endpoint, { ...common, path: "/bkt/quiet", send: randomBytes(500), halfClose: false });
  assert.match(quiet, /400 Bad Request[\s\S]*RequestTimeout/);

  // Chunk-signed bodies: a good one is stored; one with a tampered chunk is refused.
  const chunks = [randomBytes(64 * 1024), randomBytes(64 * 1024), randomBytes(1000)];
  const crcOf = (data: Buffer) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(crc32(data));
    return b.toString("base64");
  };
  const cases = [
    { key: "chunked-good", tamperAt: -1, trailer: undefined },
    { key: "chunked-bad", tamperAt: 1, trailer: undefined },
    { key: "chunked-trailer-good", tamperAt: -1, trailer: { line: `x-amz-checksum-crc32:${crcOf(Buffer.concat(chunks))}`, tamper: false } },
    { key: "chunked-trailer-bad", tamperAt: -1, trailer: { line: `x-amz-checksum-crc32:${crcOf(Buffer.concat(chunks))}`, tamper: true } },
  ];
  for (const { key, tamperAt, trailer } of cases) {
    const good = tamperAt < 0 && !trailer?.tamper;
    const decoded = chunks.reduce((n, c) => n + c.length, 0);
    const date = new Date(Math.floor(Date.now() / 1000) * 1000);
    const amzDate = date
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const length = signedChunks(chunks, "0".repeat(64), amzDate, "", -1, trailer).length;
    const request = {
      ...TEST_CREDENTIALS,
      method: "PUT",
      path: `/bkt/${key}`,
      payloadHash: trailer ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      headers: {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": String(decoded),
        "content-length": String(length),
        ...(trailer ? { "x-amz-trailer": "x-amz-checksum-crc32" } : {}),
      },
      date,
    };
    const headers = await signHeaders(endpoint, request);
    const seed = /Signature=([0-9a-f]+)/.exec(headers.authorization ?? "")?.[1] as string;
    const body = signedChunks(chunks, seed, amzDate, TEST_CREDENTIALS.secretAccessKey, tamperAt, trailer);
    const res = await signedRequest(endpoint, { ...request, body });
    if (good) {
      assert.equal(res.status, 200, `${key}: ${res.body}`);
      const got = await s3.send(new GetObjectCommand({ Bucket: "bkt", Key: key }));
      assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(Buffer.concat(chunks)));
    } else {
      assert.equal(errorCode(res.body), "SignatureDoesNotMatch", key);
    }
  }

  // DeleteObjects takes at most 1000 keys.
  const tooMany = `<Delete>${Array.from({ length: 1001 }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join("")}</Delete>`;
  assert.equal(errorCode((await send("POST", "/bkt", { query: { delete: "" }, body: tooMany })).body), "MalformedXML");

  // Unsigned aws-chunked bodies with a CRC32 trailer, as the AWS SDK sends streams: the trailer is checked.
  const data = randomBytes(100_000);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data));
  for (const [key, checksum] of [
    ["trailer-good", crc.toString("base64")],
    ["trailer-bad", "AAAAAA=="],
  ] as const) {
    const body = Buffer.concat([
      Buffer.from(`${(60_000).toString(16)}\r\n`),
      data.subarray(0, 60_000),
      Buffer.from(`\r\n${(40_000).toString(16)}\r\n`),
      data.subarray(60_000),
      Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${checksum}\r\n\r\n`),
    ]);
    const res = await signedRequest(endpoint, {
      ...TEST_CREDENTIALS,
      method: "PUT",
      path: `/bkt/${key}`,
      payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      headers: {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": String(data.length),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "content-length": String(body.length),
      },
      body,
    });
    if (key === "trailer-good") {
      assert.equal(res.status, 200, res.body);
      const got = await s3.send(new GetObjectCommand({ Bucket: "bkt", Key: key }));
      assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(data));
      assert.equal(got.ContentEncoding, undefined, "aws-chunked is not stored as the object's encoding");
    } else {
      assert.equal(errorCode(res.body), "BadDigest");
    }
  }

  // Nothing of the above was written, in the namespace or the under-store.
  const after = await filesBelow(ufs);
  assert.deepEqual(
    after.filter((f) => !before.includes(f)),
    ["bkt/chunked-good", "bkt/chunked-trailer-good", "bkt/trailer-good"],
  );
  for (const key of ["truncated", "quiet", "hash", "w", "chunked-bad", "chunked-trailer-bad", "trailer-bad", "escape"]) {
    assert.equal((await send("HEAD", `/bkt/${key}`)).status, 404, key);
  }
  const kept = await s3.send(new GetObjectCommand({ Bucket: "bkt", Key: "keep" }));
  assert.equal(await kept.Body?.transformToString(), "kept");
  await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: "still-serving", Body: "yes" }));
});
