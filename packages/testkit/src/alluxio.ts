import assert from "node:assert/strict";
import { requestAsIs } from "./as_is.ts";

/** A key pair, as the AWS SDK names it. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Default credentials of a test cluster: an admin. */
export const TEST_CREDENTIALS: Credentials = { accessKeyId: "koine", secretAccessKey: "koinesecret" };

/** An HTTP Basic Authorization header of a key pair (the Alluxio proxy and the admin API take them). */
export function basicAuth(credentials: Credentials = TEST_CREDENTIALS): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${credentials.accessKeyId}:${credentials.secretAccessKey}`).toString("base64")}` };
}

/** Who a call is made as: a key pair, or nobody (no Authorization header). */
export type Caller = Credentials | "anonymous";

function authOf(as: Caller): Record<string, string> {
  return as === "anonymous" ? {} : basicAuth(as);
}

/** An Alluxio REST answer: the JSON value, and for an error its gRPC status code. */
export interface AlluxioAnswer {
  status: number;
  code?: string;
  value: unknown;
}

/** POSTs `/api/v1/paths/{path}` with JSON options (none when absent), as alluxio-py does (with Basic credentials). */
export async function alluxioCall(base: string, path: string, options?: unknown, as: Caller = TEST_CREDENTIALS): Promise<AlluxioAnswer> {
  const res = await fetch(`${base}/api/v1/paths/${path}`, {
    method: "POST",
    headers: { ...authOf(as), ...(options === undefined ? {} : { "content-type": "application/json" }) },
    ...(options === undefined ? {} : { body: JSON.stringify(options) }),
  });
  const text = await res.text();
  const value: unknown = text === "" ? undefined : JSON.parse(text);
  if (res.status !== 200) return { status: res.status, code: (value as { statusCode: string }).statusCode, value };
  return { status: 200, value };
}

/** Like {@link alluxioCall}, failing the test unless the call succeeds; its JSON value. */
export async function alluxioOk<T = Record<string, unknown>>(
  base: string,
  path: string,
  options?: unknown,
  as: Caller = TEST_CREDENTIALS,
): Promise<T> {
  const r = await alluxioCall(base, path, options, as);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.value)}`);
  return r.value as T;
}

/** A streams API call (`/api/v1/streams/{id}/{op}`). */
export function streamCall(base: string, id: number, op: string, body?: Buffer | string, as: Caller = TEST_CREDENTIALS): Promise<Response> {
  return fetch(`${base}/api/v1/streams/${id}/${op}`, { method: "POST", headers: authOf(as), ...(body === undefined ? {} : { body }) });
}

/** Writes a file as alluxio-py's client.open(path, "w") does: create-file, write, close. */
export async function alluxioWrite(
  base: string,
  path: string,
  bytes: Buffer,
  options: unknown = {},
  as: Caller = TEST_CREDENTIALS,
): Promise<void> {
  const id = await alluxioOk<number>(base, `/${path}/create-file`, options, as);
  assert.equal((await streamCall(base, id, "write", bytes, as)).status, 200);
  const close = await streamCall(base, id, "close", undefined, as);
  assert.equal(close.status, 200, await close.text());
}

/** Reads a whole file as alluxio-py's client.open(path, "r") does: open-file, read, close. */
export async function alluxioRead(base: string, path: string, options: unknown = {}, as: Caller = TEST_CREDENTIALS): Promise<Buffer> {
  const id = await alluxioOk<number>(base, `/${path}/open-file`, options, as);
  const res = await streamCall(base, id, "read", undefined, as);
  assert.equal(res.status, 200);
  const bytes = Buffer.from(await res.arrayBuffer());
  await streamCall(base, id, "close", undefined, as);
  return bytes;
}

/** One admin API call (as an admin unless told): its status and JSON body (checked to come as exactly application/json). */
export async function adminCall(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  as: Caller = TEST_CREDENTIALS,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...authOf(as), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  assert.equal(res.headers.get("content-type"), "application/json");
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * The Alluxio path of S3 key `key` of `bucket`, as the docs give it:
 * /<bucket>/<key>, each name percent-encoded, its dots too (%2E), for
 * "." and ".." are names (send it as is: see {@link requestAsIs}).
 */
export function alluxioKeyPath(bucket: string, key: string): string {
  return `/${[bucket, ...key.split("/")].map((s) => encodeURIComponent(s).replaceAll(".", "%2E")).join("/")}`;
}

/** The bytes of the file at `path` (percent-encoded, sent as is), read through the streams API. */
export async function alluxioReadAsIs(base: string, path: string, as: Caller = TEST_CREDENTIALS): Promise<Buffer> {
  const auth = authOf(as);
  const opened = await requestAsIs(base, "POST", `/api/v1/paths${path}/open-file`, auth);
  assert.equal(opened.status, 200, `${path}: ${opened.body}`);
  const id = Number(opened.body.toString());
  const read = await requestAsIs(base, "POST", `/api/v1/streams/${id}/read`, auth);
  assert.equal(read.status, 200, `${path}: ${read.body}`);
  await requestAsIs(base, "POST", `/api/v1/streams/${id}/close`, auth);
  return read.body;
}
