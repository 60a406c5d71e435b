import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Cluster } from "@koine/client";
import { tempDir } from "@koine/testkit";
import { basicAuth } from "@koine/testkit/clients";
import { startCore } from "@koine/testkit/core";
import Fastify from "fastify";
import { adminPlugin } from "./plugin.ts";

test("admin dialect (app.inject over a real core) - mounts, nodes, a load job, policies, and its JSON errors", async (t) => {
  const { client, identities } = await startCore(t);
  const app = Fastify();
  await app.register(adminPlugin, { cluster: await Cluster.open(client), policies: client.policies, identities });
  t.after(() => app.close());
  const call = (method: "GET" | "POST" | "DELETE", url: string, body?: unknown) =>
    app.inject({
      method,
      url,
      headers: { ...basicAuth(), ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  const dir = await tempDir(t, "koine-admin-dialect-");
  await mkdir(join(dir, "sub"));
  const mounted = await call("POST", "/api/v1/mount", { path: "/m", ufs: pathToFileURL(dir).href });
  assert.equal(mounted.statusCode, 200, mounted.body);
  assert.equal(mounted.headers["content-type"], "application/json");
  assert.deepEqual(
    (await call("GET", "/api/v1/mount")).json().results.map((m: { path: string }) => m.path),
    ["/", "/m"],
  );
  assert.deepEqual(
    (await call("GET", "/api/v1/nodes")).json().results.map((n: { id: string }) => n.id),
    ["node0"],
  );

  // No job runner here: a submitted load stays RUNNING, so the same submit is the existing job (409, with its id).
  const load = await call("POST", "/api/v1/load", { paths: ["/m"], alias: "l" });
  assert.equal(load.statusCode, 200, load.body);
  const again = await call("POST", "/api/v1/load", { paths: ["/m"], alias: "l" });
  assert.deepEqual([again.statusCode, again.json().id], [409, load.json().id]);
  assert.equal((await call("GET", "/api/v1/load?alias=l")).json().state, "RUNNING");
  assert.equal((await call("DELETE", "/api/v1/load", { alias: "l" })).json().state, "STOPPED");
  assert.equal((await call("DELETE", "/api/v1/load", { alias: "l" })).statusCode, 410);

  assert.equal((await call("POST", "/api/v1/ttl", { path: "/m/sub", time: "1h" })).statusCode, 200);
  assert.equal((await call("GET", "/api/v1/ttl")).json().results[0].ttlMs, 3_600_000);

  // Errors: {"status": why}, with the code of what went wrong; a body that does not fit names the field.
  for (const [method, url, body, status, why] of [
    ["POST", "/api/v1/load", { paths: "/m" }, 400, /paths/],
    ["POST", "/api/v1/mount", { path: "/m2" }, 400, /ufs/],
    ["POST", "/api/v1/load", "{", 400, /not JSON/],
    ["GET", "/api/v1/load?count=x", undefined, 400, /count/],
    ["DELETE", "/api/v1/nodes", { id: "node9" }, 404, /node9/],
    ["DELETE", "/api/v1/nodes", { id: "node0" }, 409, /last cache node/],
  ] as const) {
    const r =
      typeof body === "string"
        ? await app.inject({ method, url, headers: basicAuth(), payload: body })
        : await call(method, url, body as unknown as undefined);
    assert.equal(r.statusCode, status, `${method} ${url}: ${r.body}`);
    assert.match(r.json().status, why);
  }
});
