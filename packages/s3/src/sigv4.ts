import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { s3Error } from "./errors.ts";
import { isPresignedV2, verifyPresignedV2 } from "./sigv2.ts";

export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const MAX_SKEW_MS = 15 * 60 * 1000;

/** Looks up the secret of an access key; undefined when unknown. */
export type SecretLookup = (accessKey: string) => string | undefined;

/** What a verified request proved, and what its body still has to prove. */
export interface Authorization {
  /** The signer; "" for an anonymous request. */
  accessKey: string;
  anonymous: boolean;
  /** The x-amz-content-sha256 value (or UNSIGNED-PAYLOAD for presigned URLs). */
  payloadHash: string;
  /** Needed to verify chunk signatures of streaming bodies. */
  signingKey: Buffer;
  seedSignature: string;
  amzDate: string;
  scope: string;
  /** x-amz-* parameters of a presigned URL (lower-case), which stand for headers. */
  hoistedHeaders?: Record<string, string>;
}

/** A request with no signature: what it may do is decided by ACLs. */
export const ANONYMOUS: Authorization = {
  accessKey: "",
  anonymous: true,
  payloadHash: "UNSIGNED-PAYLOAD",
  signingKey: Buffer.alloc(0),
  seedSignature: "",
  amzDate: "",
  scope: "",
};

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
const UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-_.~/]*$/;

export function uriEncode(text: string, keepSlash: boolean): string {
  if ((keepSlash ? UNRESERVED_OR_SLASH : UNRESERVED).test(text)) return text;
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function safeDecode(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw s3Error("InvalidRequest", "The request URL is not correctly encoded");
  }
}

/** The canonical URI of a raw path: each segment decoded, then encoded once (S3 does not normalise). */
export function canonicalUri(rawPath: string): string {
  return rawPath
    .split("/")
    .map((s) => uriEncode(safeDecode(s), false))
    .join("/");
}

/** Query parameters of a raw query string, decoded, in order. */
export function parseQuery(rawQuery: string): [string, string][] {
  if (rawQuery === "") return [];
  return rawQuery
    .split("&")
    .filter((p) => p !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      return eq < 0 ? [safeDecode(pair), ""] : [safeDecode(pair.slice(0, eq)), safeDecode(pair.slice(eq + 1))];
    });
}

function canonicalQuery(params: [string, string][]): string {
  return params
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

const signingKeys = new Map<string, Buffer>();

/**
 * Presigned URLs already verified, by method, host and URL: a URL that signs
 * only `host` means the same thing every time it comes, until it expires,
 * so it is checked once (the secret is compared again on every use).
 */
const presignedMemo = new Map<string, { auth: Authorization; secret: string; signedMs: number; expiresMs: number }>();
const PRESIGNED_MEMO_SIZE = 10_000;

export function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function signingKeyFor(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
    if (signingKeys.size > 1000) signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Parses "20130524T000000Z". */
export function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

interface Parsed {
  accessKey: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  /** Query parameters that take part in the signature. */
  query: [string, string][];
  expiresSeconds?: number;
}

function parseCredential(credential: string): Pick<Parsed, "accessKey" | "date" | "region" | "service"> {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request") {
    throw s3Error(
      "AuthorizationHeaderMalformed",
      `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  return { accessKey: parts[0] as string, date: parts[1] as string, region: parts[2] as string, service: parts[3] as string };
}

function parseHeaderAuth(req: IncomingMessage, header: string, query: [string, string][]): Parsed {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(header);
  if (!m) {
    if (header.startsWith("AWS ")) throw s3Error("InvalidRequest", "Signature Version 2 is not supported; use AWS4-HMAC-SHA256.");
    throw s3Error("AuthorizationHeaderMalformed", "The authorization header is malformed; use AWS4-HMAC-SHA256.");
  }
  const fields = new Map<string, string>();
  for (const part of (m[1] as string).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || !signedHeaders || !signature) {
    throw s3Error(
      "AuthorizationHeaderMalformed",
      "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.",
    );
  }
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  const payloadHash = req.headers["x-amz-content-sha256"];
  if (typeof payloadHash !== "string") {
    throw s3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  }
  return { ...parseCredential(credential), signedHeaders: signedHeaders.split(";"), signature, amzDate, payloadHash, query };
}

function parseQueryAuth(query: [string, string][]): Parsed {
  const get = (name: string) => query.find(([k]) => k === name)?.[1];
  if (get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256")
    throw s3Error("AuthorizationHeaderMalformed", "X-Amz-Algorithm must be AWS4-HMAC-SHA256");
  const credential = get("X-Amz-Credential");
  const signedHeaders = get("X-Amz-SignedHeaders");
  const signature = get("X-Amz-Signature");
  const amzDate = get("X-Amz-Date");
  const expiresText = get("X-Amz-Expires") ?? "";
  const expires = Number(expiresText);
  if (!credential || !signedHeaders || !signature || !amzDate) {
    throw s3Error(
      "AuthorizationHeaderMalformed",
      "Query-string authentication requires X-Amz-Credential, X-Amz-SignedHeaders, X-Amz-Date and X-Amz-Signature.",
    );
  }
  // As S3 answers: a number of seconds, not negative, at most a week; 0 is a window already shut (checked later).
  if (!/^-?\d+$/.test(expiresText)) throw s3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number");
  if (expires < 0) throw s3Error("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative");
  if (expires > 604800) {
    throw s3Error(
      "AuthorizationQueryParametersError",
      "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
    );
  }
  return {
    ...parseCredential(credential),
    signedHeaders: signedHeaders.split(";"),
    signature,
    amzDate,
    payloadHash: get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
    query: query.filter(([k]) => k !== "X-Amz-Signature"),
    expiresSeconds: expires,
  };
}

/**
 * Verifies the SigV4 signature of a request (header or presigned query)
 * and returns who signed it. The body is checked later, as it streams.
 */
export function verifyRequest(
  req: IncomingMessage,
  rawPath: string,
  rawQuery: string,
  secretOf: SecretLookup,
  resourcePrefix = "",
  nowMs = Date.now(),
): Authorization {
  const header = req.headers.authorization;
  const memoKey = header ? undefined : `${req.method} ${req.headers.host} ${rawPath}?${rawQuery}`;
  const memo = memoKey === undefined ? undefined : presignedMemo.get(memoKey);
  if (memo && secretOf(memo.auth.accessKey) === memo.secret && nowMs <= memo.expiresMs && memo.signedMs - nowMs <= MAX_SKEW_MS) {
    return memo.auth;
  }
  const query = parseQuery(rawQuery);
  if (!header && isPresignedV2(query)) return verifyPresignedV2(req, rawPath, query, secretOf, resourcePrefix, nowMs);
  const presigned = query.some(([k]) => k === "X-Amz-Signature");
  if (!header && !presigned) return ANONYMOUS;
  const p = header ? parseHeaderAuth(req, header, query) : parseQueryAuth(query);
  const secret = secretOf(p.accessKey);
  if (secret === undefined) throw s3Error("InvalidAccessKeyId");
  const signedMs = parseAmzDate(p.amzDate);
  if (Number.isNaN(signedMs)) throw s3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  if (p.amzDate.slice(0, 8) !== p.date) {
    throw s3Error("AuthorizationHeaderMalformed", "The credential date does not match the date of the request.");
  }
  if (p.expiresSeconds !== undefined) {
    if (p.expiresSeconds === 0 || nowMs > signedMs + p.expiresSeconds * 1000) throw s3Error("AccessDenied", "Request has expired");
    if (signedMs - nowMs > MAX_SKEW_MS) throw s3Error("RequestTimeTooSkewed");
  } else if (Math.abs(nowMs - signedMs) > MAX_SKEW_MS) {
    throw s3Error("RequestTimeTooSkewed");
  }
  const headerLines = p.signedHeaders.map((name) => {
    // (fastify's inject() makes requests without headersDistinct: their headers then, one value each.)
    const values = req.headersDistinct?.[name] ?? (req.headers[name] === undefined ? undefined : [req.headers[name]].flat().map(String));
    if (values === undefined && name !== "host") throw s3Error("SignatureDoesNotMatch", `Signed header ${name} is missing`);
    return `${name}:${(values ?? []).map((v) => v.trim().replace(/\s+/g, " ")).join(",")}`;
  });
  const canonicalRequest = [
    req.method,
    canonicalUri(rawPath),
    canonicalQuery(p.query),
    `${headerLines.join("\n")}\n`,
    p.signedHeaders.join(";"),
    p.payloadHash,
  ].join("\n");
  const scope = `${p.date}/${p.region}/${p.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", p.amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = signingKeyFor(secret, p.date, p.region, p.service);
  const expected = hmac(signingKey, stringToSign).toString("hex");
  if (!sameSignature(expected, p.signature)) throw s3Error("SignatureDoesNotMatch");
  const hoistedHeaders: Record<string, string> = {};
  if (p.expiresSeconds !== undefined) {
    for (const [k, v] of p.query) {
      const name = k.toLowerCase();
      if (name.startsWith("x-amz-") && !k.startsWith("X-Amz-")) hoistedHeaders[name] = v;
    }
  }
  const auth = {
    accessKey: p.accessKey,
    anonymous: false,
    hoistedHeaders,
    payloadHash: p.payloadHash,
    signingKey,
    seedSignature: p.signature,
    amzDate: p.amzDate,
    scope,
  };
  if (memoKey !== undefined && p.expiresSeconds !== undefined && p.signedHeaders.length === 1 && p.signedHeaders[0] === "host") {
    if (presignedMemo.size >= PRESIGNED_MEMO_SIZE) presignedMemo.delete(presignedMemo.keys().next().value as string);
    presignedMemo.set(memoKey, { auth, secret, signedMs, expiresMs: signedMs + p.expiresSeconds * 1000 });
  }
  return auth;
}
