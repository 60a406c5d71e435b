import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SignOptions {
  method: string;
  /** Path as signed (already encoded, not normalised). */
  path: string;
  /** Path as sent, when it is encoded differently from `path`. */
  wirePath?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Payload hash to sign; defaults to the SHA-256 of the body. */
  payloadHash?: string;
  date?: Date;
}

/** Headers of a request signed by AWS's own signer (@smithy/signature-v4). */
export async function signHeaders(endpoint: string, o: SignOptions): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: "s3",
    region: "us-east-1",
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
  const headers: Record<string, string> = { host: url.host, ...(o.headers ?? {}) };
  if (o.payloadHash) headers["x-amz-content-sha256"] = o.payloadHash;
  const signed = await signer.sign(
    {
      method: o.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: o.path,
      query: o.query ?? {},
      headers,
      body: o.body,
    },
    o.date ? { signingDate: o.date } : {},
  );
  return signed.headers as Record<string, string>;
}

/** RFC 3986 escaping, as the SDKs send query values (a space is %20, not "+"). */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function target(o: SignOptions): string {
  const q = Object.entries(o.query ?? {})
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join("&");
  const path = o.wirePath ?? o.path;
  return q ? `${path}?${q}` : path;
}

/** Sends a signed request with its whole body and returns the whole answer. */
export async function signedRequest(endpoint: string, o: SignOptions): Promise<RawResponse> {
  const headers = await signHeaders(endpoint, o);
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: o.method, path: target(o), headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

/**
 * Sends a signed request on a raw socket: its headers, then `send` bytes of
 * the body (fewer than Content-Length to truncate it), then, with
 * `halfClose`, the end of the client's side. Resolves with what came back.
 */
export async function rawSignedRequest(endpoint: string, o: SignOptions & { send: Buffer; halfClose: boolean }): Promise<string> {
  const headers = await signHeaders(endpoint, o);
  const url = new URL(endpoint);
  const head = [`${o.method} ${target(o)} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "", ""].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(head);
      socket.write(o.send);
      if (o.halfClose) socket.end();
    });
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (c) => (answer += c));
    socket.on("close", () => resolve(answer));
    socket.on("error", (err) => (answer ? resolve(answer) : reject(err)));
    socket.setTimeout(15_000, () => socket.destroy());
  });
}

/** A presigned URL for `method` on `path` (already encoded), valid for `expiresIn` seconds. */
export async function presignUrl(
  endpoint: string,
  method: string,
  path: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  expiresIn = 3600,
  query: Record<string, string> = {},
): Promise<string> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials, sha256: Sha256, uriEscapePath: false });
  const signed = await signer.presign(
    {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query,
      headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    },
    { expiresIn, unsignableHeaders: new Set(["x-amz-content-sha256"]) },
  );
  return `${url.origin}${path}?${new URLSearchParams(signed.query as Record<string, string>).toString()}`;
}
