import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { bootCluster } from "@koine/launcher";
import { tempDir } from "@koine/testkit";
import { adminCall } from "@koine/testkit/clients";

test("admin API - every endpoint: success, bad body (400), unknown (404/410), conflict (409), switched off (501; 404 for the file index, as Alluxio's)", async (t) => {
  // No job runner: submitted jobs stay RUNNING, so a second submit conflicts.
  const cluster = await bootCluster(t, { jobRunner: false, adminDisabled: ["quota", "file_index"] });
  const base = cluster.adminUrl;
  const ufs = pathToFileURL(await tempDir(t, "koine-endpoints-")).href;
  const other = pathToFileURL(await tempDir(t, "koine-endpoints-")).href;
  const cases: [string, string, unknown, number][] = [
    ["POST", "/api/v1/mount", { path: "/m", ufs }, 200],
    ["GET", "/api/v1/mount", undefined, 200],
    ["POST", "/api/v1/mount", { path: "/m2" }, 400],
    ["POST", "/api/v1/mount", "{", 400],
    ["POST", "/api/v1/mount", { path: "/m", ufs: other }, 409],
    ["DELETE", "/api/v1/mount", { path: "/nope" }, 404],

    ["POST", "/api/v1/load", { paths: ["/m"], alias: "l" }, 200],
    ["POST", "/api/v1/load", { paths: ["/m"], alias: "l" }, 409],
    ["POST", "/api/v1/load", {}, 400],
    ["GET", "/api/v1/load?alias=l", undefined, 200],
    ["GET", "/api/v1/load?id=nope", undefined, 404],
    ["DELETE", "/api/v1/load", { id: "nope" }, 410],
    ["DELETE", "/api/v1/load", { alias: "l" }, 200],

    ["POST", "/api/v1/free", { paths: ["/m"], alias: "f" }, 200],
    ["POST", "/api/v1/free", { paths: ["/m"], alias: "f" }, 409],
    ["POST", "/api/v1/free", { paths: "/m" }, 400],
    ["GET", "/api/v1/free?alias=f", undefined, 200],
    ["GET", "/api/v1/free?alias=nope", undefined, 404],
    ["DELETE", "/api/v1/free", { id: "nope" }, 410],

    ["POST", "/api/v1/rebalance", { target: "ALL" }, 200],
    ["POST", "/api/v1/rebalance", { target: "ALL" }, 409],
    ["POST", "/api/v1/rebalance", { options: {} }, 400],
    ["GET", "/api/v1/rebalance?target=ALL", undefined, 200],
    ["GET", "/api/v1/rebalance?id=nope", undefined, 404],
    ["DELETE", "/api/v1/rebalance", { target: "node9" }, 410],
    ["DELETE", "/api/v1/rebalance", { target: "ALL" }, 200],

    ["POST", "/api/v1/cache", {}, 200],
    ["POST", "/api/v1/cache", {}, 409],

    ["GET", "/api/v1/nodes", undefined, 200],
    ["GET", "/api/v1/metadata", undefined, 200],
    ["DELETE", "/api/v1/nodes", {}, 400],
    ["DELETE", "/api/v1/nodes", { id: "node9" }, 404],
    ["DELETE", "/api/v1/nodes", { id: "node0" }, 409],

    ["POST", "/api/v1/ttl", { path: "/m", time: "1h" }, 200],
    ["GET", "/api/v1/ttl", undefined, 200],
    ["POST", "/api/v1/ttl", { path: "/m" }, 400],
    ["DELETE", "/api/v1/ttl", { path: "/m/x" }, 404],
    ["POST", "/api/v1/priority", { path: "/m", priority: "LOW" }, 200],
    ["POST", "/api/v1/priority", { priority: "LOW" }, 400],
    ["DELETE", "/api/v1/priority", { path: "/m/x" }, 404],
    ["POST", "/api/v1/cache-filter", { default: true, type: "immutable" }, 200],
    ["POST", "/api/v1/cache-filter", { pattern: "x" }, 400],
    ["DELETE", "/api/v1/cache-filter", { pattern: "y" }, 404],
    ["DELETE", "/api/v1/cache-filter", { default: true }, 200],

    ["GET", "/api/v1/quota", undefined, 501],
    ["POST", "/api/v1/quota", { path: "/m", size: "1GiB" }, 501],
    ["GET", "/api/v1/file_index", undefined, 404],
  ];
  // One named subtest a case, in order (each builds on the ones before).
  for (const [method, path, body, status] of cases) {
    const shownBody = body === undefined ? "" : ` ${JSON.stringify(body).replace(ufs, "<ufs>").replace(other, "<other ufs>")}`;
    await t.test(`${method} ${path}${shownBody} -> ${status}`, async () => {
      const r = await adminCall(base, method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
      if (status !== 200) assert.equal(typeof r.json.status, "string", "errors say why in status");
      if (status === 409 && method === "POST" && path !== "/api/v1/mount")
        assert.equal(typeof r.json.id, "string", "a conflict names the earlier job");
    });
  }
});
