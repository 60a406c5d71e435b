import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { decodeBody } from "./body.ts";
import { S3Error } from "./errors.ts";
import { type Authorization, EMPTY_SHA256, hmac } from "./sigv4.ts";

/** A request body arriving in `pieces`, with `headers`. */
function incoming(pieces: (string | Buffer)[], headers: Record<string, string>): IncomingMessage {
  const req = Readable.from(pieces.map((p) => Buffer.from(p))) as unknown as IncomingMessage & { complete: boolean };
  req.headers = headers;
  req.complete = true;
  return req;
}

const SIGNING_KEY = Buffer.alloc(32, 7);
function auth(payloadHash: string, seedSignature = "seed"): Authorization {
  return {
    accessKey: "k",
    anonymous: false,
    hoistedHeaders: {},
    payloadHash,
    signingKey: SIGNING_KEY,
    seedSignature,
    amzDate: "20261201T000000Z",
    scope: "20261201/us-east-1/s3/aws4_request",
  };
}

async function read(req: IncomingMessage, a: Authorization): Promise<{ bytes: string; checksums: Record<string, string> } | string> {
  const decoded = decodeBody(req, a, 1000);
  try {
    const parts: Buffer[] = [];
    for await (const chunk of decoded.body) parts.push(chunk);
    return { bytes: Buffer.concat(parts).toString(), checksums: decoded.checksums };
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
}

const crcOf = (text: string) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(Buffer.from(text)) >>> 0);
  return b.toString("base64");
};

test("aws-chunked - unsigned chunks with a checksum trailer decode, however the bytes are cut; a wrong trailer fails at the end", async () => {
  const framed = `5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:${crcOf("hello world")}\r\n\r\n`;
  const headers = { "x-amz-decoded-content-length": "11", "x-amz-trailer": "x-amz-checksum-crc32" };
  for (const cut of [1, 3, 7, framed.length]) {
    const pieces = framed.match(new RegExp(`[\\s\\S]{1,${cut}}`, "g")) as string[];
    const got = await read(incoming(pieces, headers), auth("STREAMING-UNSIGNED-PAYLOAD-TRAILER"));
    assert.deepEqual(got, { bytes: "hello world", checksums: { crc32: crcOf("hello world") } }, `cut every ${cut}`);
  }
  const wrong = framed.replace(crcOf("hello world"), crcOf("hello there"));
  assert.equal(await read(incoming([wrong], headers), auth("STREAMING-UNSIGNED-PAYLOAD-TRAILER")), "BadDigest");
  assert.equal(await read(incoming(["zz\r\nhello\r\n"], headers), auth("STREAMING-UNSIGNED-PAYLOAD-TRAILER")), "InvalidRequest");
  assert.equal(await read(incoming([framed, "junk"], headers), auth("STREAMING-UNSIGNED-PAYLOAD-TRAILER")), "InvalidRequest");
});

test("aws-chunked - signed chunks verify in a chain from the seed signature; one changed byte fails", async () => {
  const seed = "0".repeat(64);
  const chunks = ["first chunk", "second", ""];
  let previous = seed;
  let framed = "";
  for (const data of chunks) {
    const hash = createHash("sha256").update(data).digest("hex");
    const signature = hmac(
      SIGNING_KEY,
      ["AWS4-HMAC-SHA256-PAYLOAD", "20261201T000000Z", "20261201/us-east-1/s3/aws4_request", previous, EMPTY_SHA256, hash].join("\n"),
    ).toString("hex");
    framed += `${data.length.toString(16)};chunk-signature=${signature}\r\n${data}\r\n`;
    previous = signature;
  }
  const headers = { "x-amz-decoded-content-length": "17" };
  const mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  assert.deepEqual(await read(incoming([framed], headers), auth(mode, seed)), { bytes: "first chunksecond", checksums: {} });
  assert.equal(await read(incoming([framed.replace("second", "sEcond")], headers), auth(mode, seed)), "SignatureDoesNotMatch");
  assert.equal(await read(incoming([framed], headers), auth(mode, "1".repeat(64))), "SignatureDoesNotMatch", "another seed");
});

test("raw bodies - the signed SHA-256, Content-MD5 and declared length are checked as the bytes pass", async () => {
  const body = "plain bytes";
  const sha = createHash("sha256").update(body).digest("hex");
  const md5 = createHash("md5").update(body).digest("base64");
  assert.deepEqual(await read(incoming([body], { "content-length": "11", "content-md5": md5 }), auth(sha)), { bytes: body, checksums: {} });
  assert.equal(await read(incoming(["plain bytez"], { "content-length": "11" }), auth(sha)), "XAmzContentSHA256Mismatch");
  assert.equal(
    await read(incoming([body], { "content-length": "11", "content-md5": md5.replace(/^./, "A") }), auth("UNSIGNED-PAYLOAD")),
    "BadDigest",
  );
  assert.deepEqual(await read(incoming([body], { "content-length": "11" }), auth("UNSIGNED-PAYLOAD")), { bytes: body, checksums: {} });
  assert.equal(
    await read(incoming([body], { "content-length": "12" }), auth("UNSIGNED-PAYLOAD")),
    "IncompleteBody",
    "shorter than declared",
  );
  const chunked = incoming(["5\r\nhello\r\n0\r\n\r\n"], { "x-amz-decoded-content-length": "6" });
  assert.equal(await read(chunked, auth("STREAMING-UNSIGNED-PAYLOAD-TRAILER")), "IncompleteBody", "decoded shorter than declared");
});
