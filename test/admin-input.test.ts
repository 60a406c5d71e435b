import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { bootCluster } from "@koine/launcher";
import { tempDir, waitFor } from "@koine/testkit";
import { adminCall } from "@koine/testkit/clients";

test("admin input - mount URIs are normalised before the rules: dot segments, NUL, hosts", async (t) => {
  const dir = await tempDir(t, "koine-mountable-");
  await mkdir(join(dir, "sub"));
  const cluster = await bootCluster(t);
  const base = cluster.adminUrl;
  const mount = (path: string, ufs: string) => adminCall(base, "POST", "/api/v1/mount", { path, ufs });
  for (const ufs of ["file:///%00", "file:///tmp/%00x", "file:///a%0ab", "file://host/x", "not a uri", "file:///x?y"]) {
    const answer = await mount("/bad", ufs);
    assert.equal(answer.status, 400, `${ufs}: ${JSON.stringify(answer.json)}`);
  }
  // Well-formed, and outside the mount roots (the test's are the temp directory): forbidden.
  for (const ufs of ["file:///etc/..", "file:///"]) {
    const answer = await mount("/bad", ufs);
    assert.equal(answer.status, 403, `${ufs}: ${JSON.stringify(answer.json)}`);
  }
  const home = pathToFileURL(dir).href;
  assert.equal((await mount("/data", `${home}/sub/../`)).status, 200);
  const mounts = (await adminCall(base, "GET", "/api/v1/mount")).json.results as { path: string; ufs: string }[];
  assert.equal(mounts.find((m) => m.path === "/data")?.ufs, home, "kept in its one spelling");
  for (const ufs of [`${home}/./`, `${home}//sub`, `${home}/sub/%2e%2e`, `${home}/..`]) {
    assert.equal((await mount("/again", ufs)).status, 400, `${ufs} nests with ${home}`);
  }
});

test("admin input - load paths with NUL or a bucket named '..' are refused, inner dots are names; a catastrophic filter runs in linear time", async (t) => {
  const dir = await tempDir(t, "koine-dataset-");
  for (let i = 0; i < 8; i++) await writeFile(join(dir, `${"a".repeat(40 + i)}!`), `file ${i}`);
  await writeFile(join(dir, "index.txt"), "/data/aaaa\u0000b\n/data/../etc\n");
  const cluster = await bootCluster(t);
  const base = cluster.adminUrl;
  assert.equal((await adminCall(base, "POST", "/api/v1/mount", { path: "/data", ufs: pathToFileURL(dir).href })).status, 200);

  const jobOf = async (id: unknown) => (await adminCall(base, "GET", `/api/v1/load?id=${id}`)).json;
  const pick = (job: Record<string, unknown>) => ({ state: job.state, loadedBytes: job.loadedBytes });
  for (const paths of [["/data/a\u0000b"], ["/../etc"], ["/./x"], ["//x"]]) {
    const answer = await adminCall(base, "POST", "/api/v1/load", { paths });
    assert.equal(answer.status, 400, `${JSON.stringify(paths)}: ${JSON.stringify(answer.json)}`);
  }
  // Below a bucket "..", "." and "" are names (S3 keys "../etc", "./x", "/x"), never steps: none such is here.
  for (const paths of [["/data/../etc"], ["/data/./x"], ["/data//x"]]) {
    const answer = await adminCall(base, "POST", "/api/v1/load", { paths });
    assert.equal(answer.status, 200, `${JSON.stringify(paths)}: ${JSON.stringify(answer.json)}`);
    await waitFor("the job to end", async () => (await jobOf(answer.json.id)).state !== "RUNNING", 15_000);
    assert.deepEqual(pick(await jobOf(answer.json.id)), { state: "FAILED", loadedBytes: 0 }, JSON.stringify(paths));
  }
  // An index file's lines are paths too: each bad one is a recorded failure, and the job ends.
  const indexed = await adminCall(base, "POST", "/api/v1/load", { index: `${pathToFileURL(dir).href}/index.txt` });
  assert.equal(indexed.status, 200, JSON.stringify(indexed.json));
  await waitFor("the index job to end", async () => (await jobOf(indexed.json.id)).state !== "RUNNING", 15_000);
  assert.equal((await jobOf(indexed.json.id)).state, "FAILED");

  // RE2 syntax only: no lookaround.
  assert.equal((await adminCall(base, "POST", "/api/v1/load", { paths: ["/data"], options: { fileFilterRegex: "(?<=a)b" } })).status, 400);
  const started = Date.now();
  const evil = await adminCall(base, "POST", "/api/v1/load", { paths: ["/data"], options: { fileFilterRegex: "(a+)+$" } });
  assert.equal(evil.status, 200, JSON.stringify(evil.json));
  await waitFor("the filtered job", async () => (await jobOf(evil.json.id)).state === "SUCCEEDED", 15_000);
  assert.equal((await jobOf(evil.json.id)).scannedFiles, 0, "no name ends in a run of a");
  assert.ok(Date.now() - started < 15_000);
  assert.equal((await adminCall(base, "POST", "/api/v1/cache-filter", { pattern: "(?!x)", type: "skipCache" })).status, 400);
});
