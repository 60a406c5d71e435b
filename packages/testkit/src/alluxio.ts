import assert from "node:assert/strict";

/** An Alluxio REST answer: the JSON value, and for an error its gRPC status code. */
export interface AlluxioAnswer {
  status: number;
  code?: string;
  value: unknown;
}

/** POSTs `/api/v1/paths/{path}` with JSON options (none when absent), as alluxio-py does. */
export async function alluxioCall(base: string, path: string, options?: unknown): Promise<AlluxioAnswer> {
  const res = await fetch(`${base}/api/v1/paths/${path}`, {
    method: "POST",
    ...(options === undefined ? {} : { body: JSON.stringify(options), headers: { "content-type": "application/json" } }),
  });
  const text = await res.text();
  const value: unknown = text === "" ? undefined : JSON.parse(text);
  if (res.status !== 200) return { status: res.status, code: (value as { statusCode: string }).statusCode, value };
  return { status: 200, value };
}

/** Like {@link alluxioCall}, failing the test unless the call succeeds; its JSON value. */
export async function alluxioOk<T = Record<string, unknown>>(base: string, path: string, options?: unknown): Promise<T> {
  const r = await alluxioCall(base, path, options);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.value)}`);
  return r.value as T;
}

/** Writes a file as alluxio-py's client.open(path, "w") does: create-file, write, close. */
export async function alluxioWrite(base: string, path: string, bytes: Buffer, options: unknown = {}): Promise<void> {
  const id = await alluxioOk<number>(base, `/${path}/create-file`, options);
  assert.equal((await fetch(`${base}/api/v1/streams/${id}/write`, { method: "POST", body: bytes })).status, 200);
  const close = await fetch(`${base}/api/v1/streams/${id}/close`, { method: "POST" });
  assert.equal(close.status, 200, await close.text());
}

/** Reads a whole file as alluxio-py's client.open(path, "r") does: open-file, read, close. */
export async function alluxioRead(base: string, path: string, options: unknown = {}): Promise<Buffer> {
  const id = await alluxioOk<number>(base, `/${path}/open-file`, options);
  const res = await fetch(`${base}/api/v1/streams/${id}/read`, { method: "POST" });
  assert.equal(res.status, 200);
  const bytes = Buffer.from(await res.arrayBuffer());
  await fetch(`${base}/api/v1/streams/${id}/close`, { method: "POST" });
  return bytes;
}

/** One admin API call: its status and JSON body (checked to come as exactly application/json). */
export async function adminCall(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  assert.equal(res.headers.get("content-type"), "application/json");
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
