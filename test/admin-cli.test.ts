import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { bootCluster } from "@koine/launcher";
import { tempDir, waitFor } from "@koine/testkit";

const run = promisify(execFile);
const KOINE = join(import.meta.dirname, "..", "scripts", "koine.ts");

test("scripts/koine - mounts, nodes and a load job with a live progress bar, through the admin API", async (t) => {
  const dir = await tempDir(t, "koine-cli-data-");
  for (let i = 0; i < 12; i++) await writeFile(join(dir, `f${i}.bin`), randomBytes(100 * 1024));
  const cluster = await bootCluster(t);
  const koine = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", KOINE, ...args], {
      env: { ...process.env, KOINE_ADMIN_URL: cluster.adminUrl, KOINE_NATS_URL: cluster.natsUrl },
      timeout: 60_000,
    });
  const ufs = pathToFileURL(dir).href;
  assert.match((await koine("mount", "add", "/cli", ufs, "--option", "alluxio.user.file.metadata.sync.interval=1s")).stdout, /mounted/);
  assert.match((await koine("mount", "list")).stdout, new RegExp(`/cli\\s+${ufs}`));
  assert.match((await koine("nodes")).stdout, /node0\s+http:\/\/127\.0\.0\.1:\d+\s+LIVE/);
  // Metadata's one replica leads, at the journal's end once its next heartbeat (every second) tells.
  let status = "";
  await waitFor("metadata at the journal's end", async () => {
    status = (await koine("metadata", "status")).stdout;
    const last = Number(status.match(/^journal KOINE_META_JOURNAL: 1\.\.(\d+)/)?.[1]);
    return (
      last > 0 && /^no snapshot yet/m.test(status) && new RegExp(`\\S+\\s+leads\\s+applied ${last}  behind 0 entries, 0\\.0 s`).test(status)
    );
  }).catch(() => assert.fail(status));

  const submitted = (await koine("load", "submit", "--path", "/cli", "--alias", "cli-load", "--batch-size", "4", "--watch")).stdout;
  assert.match(submitted, /load job \S+ \(alias cli-load\)/);
  assert.match(submitted, /\[#{30}\] 100%.*files 12\/12.*SUCCEEDED/);
  assert.match((await koine("load", "list")).stdout, /cli-load.*SUCCEEDED/);
  const progress = JSON.parse((await koine("load", "progress", "--alias", "cli-load")).stdout) as Record<string, unknown>;
  assert.equal(progress.loadedBytes, 12 * 100 * 1024);
  await assert.rejects(koine("load", "stop", "--alias", "cli-load"), /410/);
  assert.match((await koine("rebalance", "--watch")).stdout, /rebalance job \S+[\s\S]*blocks cached 12, moved 0, pruned 0\s+SUCCEEDED/);
  assert.match((await koine("free", "submit", "--path", "/cli", "--watch")).stdout, /100%.*files 12\/12.*SUCCEEDED/);
  assert.equal(cluster.cacheNodes[0]?.stats().pages, 0, "freed");
  await assert.rejects(koine("nodes", "remove", "node0"), /409/);

  // Policies.
  assert.match((await koine("ttl", "add", "--path", "/cli", "--time", "1h")).stdout, /"ttlMs":3600000/);
  assert.match((await koine("quota", "add", "--path", "/cli", "--size", "1GiB")).stdout, /"bytes":1073741824/);
  assert.match((await koine("priority", "add", "--path", "/cli", "--priority", "HIGH")).stdout, /"priority":"HIGH"/);
  assert.match((await koine("cache-filter", "add", "--default", "--type", "immutable")).stdout, /"filter":"immutable"/);
  assert.match((await koine("ttl", "list")).stdout, /"path":"\/cli","ttlMs":3600000/);
  assert.match((await koine("ttl", "remove", "--path", "/cli")).stdout, /removed/);
  assert.equal((await koine("ttl", "list")).stdout, "");
  await assert.rejects(koine("priority", "add", "--path", "/cli", "--priority", "URGENT"), /400/);
  await assert.rejects(koine("load"), (err: { code?: number }) => err.code === 2);
  assert.match((await koine("mount", "remove", "/cli")).stdout, /unmounted \/cli/);
  assert.doesNotMatch((await koine("mount", "list")).stdout, /\/cli/);
});
