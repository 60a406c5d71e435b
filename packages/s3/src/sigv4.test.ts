import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import { presignUrl, signHeaders } from "@koine/testkit/clients";
import { S3Error } from "./errors.ts";
import { verifyRequest } from "./sigv4.ts";

const ENDPOINT = "http://127.0.0.1:9000";
const KEYS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const secretOf = (ak: string) => (ak === KEYS.accessKeyId ? KEYS.secretAccessKey : undefined);

/** A request as node's HTTP server hands it over: method, url, headers. */
function incoming(method: string, url: string, headers: Record<string, string>): IncomingMessage {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method,
    url,
    headers: lower,
    headersDistinct: Object.fromEntries(Object.entries(lower).map(([k, v]) => [k, [v]])),
  } as unknown as IncomingMessage;
}

function verify(req: IncomingMessage, nowMs?: number) {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return verifyRequest(req, q < 0 ? url : url.slice(0, q), q < 0 ? "" : url.slice(q + 1), secretOf, "", nowMs);
}

/** The S3 error code `work` throws, or "ok". */
function outcome(work: () => unknown): string {
  try {
    work();
    return "ok";
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
}

test("SigV4 - a request signed by AWS's own signer verifies; a changed method, path, header, key or secret does not", async () => {
  const headers = await signHeaders(ENDPOINT, { method: "PUT", path: "/bucket/a%20key", body: "hello", ...KEYS });
  const auth = verify(incoming("PUT", "/bucket/a%20key", headers));
  assert.equal(auth.accessKey, KEYS.accessKeyId);
  assert.equal(auth.anonymous, false);
  assert.equal(auth.payloadHash, headers["x-amz-content-sha256"]);

  assert.equal(
    outcome(() => verify(incoming("GET", "/bucket/a%20key", headers))),
    "SignatureDoesNotMatch",
  );
  assert.equal(
    outcome(() => verify(incoming("PUT", "/bucket/other", headers))),
    "SignatureDoesNotMatch",
  );
  assert.equal(
    outcome(() => verify(incoming("PUT", "/bucket/a%20key", { ...headers, "x-amz-content-sha256": "0".repeat(64) }))),
    "SignatureDoesNotMatch",
  );
  const stranger = await signHeaders(ENDPOINT, { method: "PUT", path: "/bucket/k", accessKeyId: "NOBODY", secretAccessKey: "x" });
  assert.equal(
    outcome(() => verify(incoming("PUT", "/bucket/k", stranger))),
    "InvalidAccessKeyId",
  );
  const wrongSecret = await signHeaders(ENDPOINT, { method: "PUT", path: "/bucket/k", ...KEYS, secretAccessKey: "not-the-secret" });
  assert.equal(
    outcome(() => verify(incoming("PUT", "/bucket/k", wrongSecret))),
    "SignatureDoesNotMatch",
  );
  // No signature at all is an anonymous request, for the access checks to judge.
  assert.equal(verify(incoming("GET", "/bucket/k", { host: "127.0.0.1:9000" })).anonymous, true);
});

test("SigV4 - clock skew over 15 minutes is refused; presigned URLs verify until they expire", async () => {
  const then = new Date(Date.now() - 20 * 60_000);
  const old = await signHeaders(ENDPOINT, { method: "GET", path: "/bucket/k", ...KEYS, date: then });
  assert.equal(
    outcome(() => verify(incoming("GET", "/bucket/k", old))),
    "RequestTimeTooSkewed",
  );

  const url = new URL(await presignUrl(ENDPOINT, "GET", "/bucket/k", KEYS, 60));
  const presigned = incoming("GET", `${url.pathname}${url.search}`, { host: url.host });
  assert.equal(verify(presigned).accessKey, KEYS.accessKeyId);
  assert.equal(
    outcome(() => verify(presigned, Date.now() + 120_000)),
    "AccessDenied",
    "expired",
  );
  const tampered = incoming("GET", `/bucket/other${url.search}`, { host: url.host });
  assert.equal(
    outcome(() => verify(tampered)),
    "SignatureDoesNotMatch",
  );
});

test("SigV2 - presigned URLs (awscli v1, boto3's default) verify with their subresources; expired or tampered ones do not", () => {
  const expires = Math.floor(Date.now() / 1000) + 60;
  const sign = (method: string, resource: string) =>
    createHmac("sha1", KEYS.secretAccessKey).update(`${method}\n\n\n${expires}\n${resource}`).digest("base64");
  const url = (path: string, signature: string, extra = "") =>
    `${path}?${extra}AWSAccessKeyId=${KEYS.accessKeyId}&Expires=${expires}&Signature=${encodeURIComponent(signature)}`;
  const good = incoming("GET", url("/bucket/k", sign("GET", "/bucket/k")), { host: "127.0.0.1:9000" });
  assert.equal(verify(good).accessKey, KEYS.accessKeyId);
  const withAcl = incoming("GET", url("/bucket/k", sign("GET", "/bucket/k?acl"), "acl&"), { host: "127.0.0.1:9000" });
  assert.equal(verify(withAcl).accessKey, KEYS.accessKeyId, "a subresource is part of what is signed");
  assert.equal(
    outcome(() => verify(incoming("PUT", good.url as string, {}))),
    "SignatureDoesNotMatch",
  );
  assert.equal(
    outcome(() => verify(good, (expires + 1) * 1000)),
    "AccessDenied",
  );
});
