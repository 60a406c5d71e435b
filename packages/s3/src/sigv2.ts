import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { s3Error } from "./errors.ts";
import type { Authorization, SecretLookup } from "./sigv4.ts";

/** Query parameters that are part of a SigV2 canonical resource (botocore's list). */
const SUBRESOURCES = new Set([
  "accelerate",
  "acl",
  "cors",
  "defaultObjectAcl",
  "location",
  "logging",
  "partNumber",
  "policy",
  "requestPayment",
  "torrent",
  "versioning",
  "versionId",
  "versions",
  "website",
  "uploads",
  "uploadId",
  "response-content-type",
  "response-content-language",
  "response-expires",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "delete",
  "lifecycle",
  "tagging",
  "restore",
  "storageClass",
  "notification",
  "replication",
  "analytics",
  "metrics",
  "inventory",
  "select",
  "select-type",
  "object-lock",
]);

/** Whether a request carries a SigV2 presigned query (AWSAccessKeyId, Signature, Expires). */
export function isPresignedV2(query: [string, string][]): boolean {
  return query.some(([k]) => k === "AWSAccessKeyId") && query.some(([k]) => k === "Signature");
}

/**
 * Verifies a SigV2 presigned URL, which awscli v1 `s3 presign` and boto3's
 * `generate_presigned_url` still make by default. Header SigV2 is refused.
 * `resourcePrefix` is "/bucket" for virtual-hosted requests.
 */
export function verifyPresignedV2(
  req: IncomingMessage,
  rawPath: string,
  query: [string, string][],
  secretOf: SecretLookup,
  resourcePrefix: string,
  nowMs = Date.now(),
): Authorization {
  const get = (name: string) => query.find(([k]) => k === name)?.[1];
  const accessKey = get("AWSAccessKeyId") ?? "";
  const signature = get("Signature") ?? "";
  const expires = Number(get("Expires"));
  if (!Number.isInteger(expires))
    throw s3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters");
  const secret = secretOf(accessKey);
  if (secret === undefined) throw s3Error("InvalidAccessKeyId");
  if (nowMs > expires * 1000) throw s3Error("AccessDenied", "Request has expired");
  const sub = query
    .filter(([k]) => SUBRESOURCES.has(k))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => (v === "" ? k : `${k}=${v}`));
  const amzHeaders = Object.entries(req.headers)
    .filter(([name]) => name.startsWith("x-amz-"))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}:${Array.isArray(value) ? value.join(",") : String(value).trim()}\n`)
    .join("");
  const stringToSign = [
    req.method,
    req.headers["content-md5"] ?? "",
    req.headers["content-type"] ?? "",
    String(expires),
    `${amzHeaders}${resourcePrefix}${rawPath}${sub.length ? `?${sub.join("&")}` : ""}`,
  ].join("\n");
  const expected = Buffer.from(createHmac("sha1", secret).update(stringToSign, "utf8").digest("base64"));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw s3Error("SignatureDoesNotMatch");
  return {
    accessKey,
    anonymous: false,
    payloadHash: "UNSIGNED-PAYLOAD",
    signingKey: Buffer.alloc(0),
    seedSignature: "",
    amzDate: "",
    scope: "",
  };
}
