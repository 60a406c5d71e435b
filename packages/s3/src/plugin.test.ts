import assert from "node:assert/strict";
import { test } from "node:test";
import { signHeaders, TEST_CREDENTIALS } from "@koine/testkit/clients";
import { startCore } from "@koine/testkit/core";
import Fastify from "fastify";
import { s3Plugin } from "./plugin.ts";

const HOST = "http://localhost";

test("S3 dialect (app.inject over a real core) - bucket, PUT, GET, HEAD, list, and its errors in S3 XML", async (t) => {
  const { client, identities } = await startCore(t);
  const app = Fastify({ logger: { level: "error" } });
  await app.register(s3Plugin, { client, identities });
  t.after(() => app.close());
  const send = async (method: "GET" | "PUT" | "HEAD" | "DELETE", path: string, body?: string, query: Record<string, string> = {}) => {
    const headers = await signHeaders(HOST, { method, path, query, ...(body === undefined ? {} : { body }), ...TEST_CREDENTIALS });
    const search = new URLSearchParams(query).toString();
    return app.inject({ method, url: search ? `${path}?${search}` : path, headers, ...(body === undefined ? {} : { payload: body }) });
  };

  const bucket = await send("PUT", "/dialect");
  assert.equal(bucket.statusCode, 200, bucket.body);
  const put = await send("PUT", "/dialect/dir/key.txt", "hello, dialect");
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(
    put.headers.etag,
    '"a39cf3fcbd4f4e1d6bbd6d4df1be2a2c"'.replace(
      /.*/,
      `"${(await import("node:crypto")).createHash("md5").update("hello, dialect").digest("hex")}"`,
    ),
  );
  const got = await send("GET", "/dialect/dir/key.txt");
  assert.deepEqual([got.statusCode, got.body], [200, "hello, dialect"]);
  const head = await send("HEAD", "/dialect/dir/key.txt");
  assert.deepEqual([head.statusCode, head.headers["content-length"], head.body], [200, "14", ""]);
  const listed = await send("GET", "/dialect", undefined, { "list-type": "2", delimiter: "/" });
  assert.equal(listed.statusCode, 200);
  assert.match(listed.body, /<CommonPrefixes><Prefix>dir\/<\/Prefix><\/CommonPrefixes>/);

  const missing = await send("GET", "/dialect/nope");
  assert.equal(missing.statusCode, 404);
  assert.match(missing.body, /<Code>NoSuchKey<\/Code>/);
  const anonymous = await app.inject({ method: "GET", url: "/dialect/dir/key.txt" });
  assert.equal(anonymous.statusCode, 403);
  assert.match(anonymous.body, /<Code>AccessDenied<\/Code>/);
  assert.equal((await send("DELETE", "/dialect/dir/key.txt")).statusCode, 204);
  assert.equal((await send("GET", "/dialect/dir/key.txt")).statusCode, 404);
});
