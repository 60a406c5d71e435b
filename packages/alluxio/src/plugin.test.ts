import assert from "node:assert/strict";
import { test } from "node:test";
import { basicAuth } from "@koine/testkit/clients";
import { startCore } from "@koine/testkit/core";
import Fastify from "fastify";
import { alluxioPlugin } from "./plugin.ts";

test("Alluxio dialect (app.inject over a real core) - directories, a file written and read through streams, statuses, errors", async (t) => {
  const { client, identities } = await startCore(t);
  const app = Fastify();
  await app.register(alluxioPlugin, { client, identities });
  t.after(() => app.close());
  const call = (path: string, options?: unknown) =>
    app.inject({
      method: "POST",
      url: `/api/v1/paths/${path}`,
      headers: { ...basicAuth(), ...(options === undefined ? {} : { "content-type": "application/json" }) },
      ...(options === undefined ? {} : { payload: JSON.stringify(options) }),
    });

  assert.equal((await call("/data/create-directory", { recursive: true })).statusCode, 200);
  const created = await call("/data/f.txt/create-file", { writeType: "CACHE_THROUGH" });
  assert.equal(created.statusCode, 200, created.body);
  const writeId = created.json<number>();
  const written = await app.inject({
    method: "POST",
    url: `/api/v1/streams/${writeId}/write`,
    headers: basicAuth(),
    payload: "alluxio bytes",
  });
  assert.deepEqual([written.statusCode, written.json()], [200, 13]);
  assert.equal((await app.inject({ method: "POST", url: `/api/v1/streams/${writeId}/close`, headers: basicAuth() })).statusCode, 200);

  const readId = (await call("/data/f.txt/open-file")).json<number>();
  const read = await app.inject({ method: "POST", url: `/api/v1/streams/${readId}/read`, headers: basicAuth() });
  assert.deepEqual([read.statusCode, read.body], [200, "alluxio bytes"]);
  const status = (await call("/data/f.txt/get-status")).json<{ length: number; folder: boolean; persisted: boolean }>();
  assert.deepEqual([status.length, status.folder, status.persisted], [13, false, true]);
  const listed = (await call("/data/list-status")).json<{ name: string }[]>();
  assert.deepEqual(
    listed.map((s) => s.name),
    ["f.txt"],
  );
  const download = await app.inject({ method: "GET", url: "/api/v1/paths//data/f.txt/download-file", headers: basicAuth() });
  assert.deepEqual([download.statusCode, download.body], [200, "alluxio bytes"]);

  // Errors: HTTP 500 with Alluxio's gRPC status name, whatever went wrong.
  const missing = await call("/data/nope/get-status");
  assert.deepEqual([missing.statusCode, missing.json().statusCode], [500, "NOT_FOUND"]);
  const exists = await call("/data/f.txt/create-file");
  assert.equal(exists.json().statusCode, "ALREADY_EXISTS");
  const notJson = await app.inject({
    method: "POST",
    url: "/api/v1/paths//data/f.txt/get-status",
    headers: basicAuth(),
    payload: "{not json",
  });
  assert.deepEqual([notJson.statusCode, notJson.json().statusCode], [500, "INVALID_ARGUMENT"]);
  const array = await call("/data/f.txt/get-status", [1, 2]);
  assert.deepEqual([array.statusCode, array.json().statusCode], [500, "INVALID_ARGUMENT"]);
});
