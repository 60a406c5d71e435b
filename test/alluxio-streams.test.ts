import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { bootCluster } from "@koine/launcher";
import { waitFor } from "@koine/testkit";
import { alluxioCall, alluxioOk, alluxioWrite, basicAuth } from "@koine/testkit/clients";

const streamCall = async (base: string, id: number | string, op: string, body?: Buffer) => {
  const res = await fetch(`${base}/api/v1/streams/${id}/${op}`, { method: "POST", headers: basicAuth(), ...(body ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, value: text === "" ? undefined : (JSON.parse(text) as unknown) };
};

/** create-file sent from local address `from`, as another client would; its JSON answer. */
function createFrom(from: string, base: string, path: string): Promise<{ statusCode?: string; value?: unknown }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        localAddress: from,
        method: "POST",
        path: `/api/v1/paths${path}/create-file`,
        headers: basicAuth(),
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve(res.statusCode === 200 ? { value: JSON.parse(text) } : JSON.parse(text)));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Every file below `dir`, staged ones included. */
async function filesBelow(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

test("alluxio streams - bounded per client and in all; idle ones expire without harm; unknown ids are NOT_FOUND", async (t) => {
  const cluster = await bootCluster(t, {
    remoteCacheNodes: true,
    // Idle long enough for the 50 opens below to finish on a loaded machine before the first expires.
    alluxioStreams: { idleMs: 2000, maxStreams: 50, maxStreamsPerClient: 40 },
  });
  const base = cluster.alluxioUrl;
  await alluxioOk(base, "/idle/create-directory");

  // More open writes than a cache node's connection pool (32) takes at once: the rest wait for a connection,
  // and expiring those must not throw an error nobody listens for (it once ended the proxy).
  const ids: number[] = [];
  for (let i = 0; i < 40; i++) ids.push(await alluxioOk<number>(base, `/idle/f${i}/create-file`));
  const refused = await alluxioCall(base, "/idle/one-too-many/create-file");
  assert.equal(refused.code, "RESOURCE_EXHAUSTED", `one client: ${JSON.stringify(refused.value)}`);
  // Another client (another loopback address) may open what is left in all, and no more.
  for (let i = 0; i < 10; i++) ids.push(Number((await createFrom("127.0.0.2", base, `/idle/g${i}`)).value));
  assert.equal((await createFrom("127.0.0.2", base, "/idle/g-too-many")).statusCode, "RESOURCE_EXHAUSTED", "in all");
  // Some get bytes, then all are left idle.
  for (const id of ids.slice(0, 6)) assert.equal((await streamCall(base, id, "write", Buffer.alloc(4096, 1))).value, 4096);

  // Idle past 2 s, checked every 2 s: gone within 4 s (any call on them would keep them alive).
  await sleep(4500);
  for (const id of ids) {
    const answer = await streamCall(base, id, "write", Buffer.alloc(1024));
    assert.deepEqual([answer.status, (answer.value as { statusCode: string }).statusCode], [500, "NOT_FOUND"]);
  }
  assert.deepEqual(await alluxioOk(base, "/idle/list-status"), [], "an abandoned write commits nothing");
  await waitFor("abandoned staged files to go", async () => (await filesBelow(join(cluster.home, "ufs", "idle"))).length === 0);

  // The proxy is alive and the slots are free again.
  await alluxioWrite(base, "/idle/after", Buffer.from("still here"));
  assert.equal((await alluxioOk<unknown[]>(base, "/idle/list-status")).length, 1);

  for (const [id, code] of [
    ["999999", "NOT_FOUND"],
    ["99999999999999999999999", "NOT_FOUND"],
    ["-1", "NOT_FOUND"],
    ["abc", "INVALID_ARGUMENT"],
    ["1e400", "INVALID_ARGUMENT"],
  ] as const) {
    for (const op of ["write", "read", "close"]) {
      const answer = await streamCall(base, id, op, op === "write" ? Buffer.alloc(10 * 1024 * 1024) : undefined);
      assert.equal((answer.value as { statusCode: string }).statusCode, code, `${op} of stream ${id}`);
    }
  }
});

test("alluxio streams - absurd options are INVALID_ARGUMENT and change nothing", async (t) => {
  const cluster = await bootCluster(t);
  const base = cluster.alluxioUrl;
  await alluxioOk(base, "/opts/create-directory");
  await alluxioWrite(base, "/opts/file", Buffer.from("x"));
  const before = await alluxioOk(base, "/opts/file/get-status");
  for (const options of [
    { mode: -1 },
    { mode: 0o10000 },
    { mode: 1.5 },
    { mode: "rwx" },
    { mode: { ownerBits: "EVERYTHING" } },
    { ttl: 1e308 },
    { ttl: -2 },
    { owner: "o".repeat(1024 * 1024) },
    { owner: "" },
    { group: "a\nb" },
  ]) {
    const answer = await alluxioCall(base, "/opts/file/set-attribute", options);
    assert.equal(answer.code, "INVALID_ARGUMENT", JSON.stringify(options).slice(0, 80));
    const created = await alluxioCall(base, "/opts/new/create-file", options);
    if (!("owner" in options || "group" in options))
      assert.equal(created.code, "INVALID_ARGUMENT", `create-file ${JSON.stringify(options)}`);
    else await streamCall(base, created.value as number, "close");
  }
  const sync = await alluxioCall(base, "/opts/file/get-status", { commonOptions: { syncIntervalMs: 1e300 } });
  assert.equal(sync.code, "INVALID_ARGUMENT");
  assert.deepEqual(await alluxioOk(base, "/opts/file/get-status"), before);
});
