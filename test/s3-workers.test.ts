import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { waitFor } from "@koine/testkit";
import { presignUrl, s3Client, TEST_CREDENTIALS } from "@koine/testkit/clients";

const run = promisify(execFile);
const promtool = spawnSync("promtool", ["--version"]).status === 0;
const curl = spawnSync("curl", ["--version"]).status === 0;

/** The S3 gateway's worker processes this process started (by their command line). */
async function gatewayWorkers(): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const [stat, cmdline] = await Promise.all([
      readFile(`/proc/${entry}/stat`, "utf8").catch(() => ""),
      readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => ""),
    ]);
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === process.pid && cmdline.includes("s3-gateway/src/worker.ts")) found.push(Number(entry));
  }
  return found;
}

/** Blocks this process's thread (and so its every service) for `ms`. */
function blockThisProcess(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * GETs each of `urls` by curl, one after another, each on a new connection,
 * started now and run while this process is blocked for `blockMs` (so only
 * a worker accepts them): what each answered and when it was done, counted
 * from curl's start.
 */
async function getsWhileBlocked(urls: string[], blockMs: number): Promise<{ status: number; size: number; doneMs: number }[]> {
  const args = ["-s", "-o", "/dev/null", "--max-time", "10"];
  for (const [i, url] of urls.entries())
    args.push(
      ...(i > 0 ? ["--next", "-s", "-o", "/dev/null", "--max-time", "10"] : []),
      "-H",
      "connection: close",
      "-w",
      "%{http_code} %{size_download} %{time_total}\\n",
      url,
    );
  const curl = run("curl", args);
  blockThisProcess(blockMs);
  const { stdout } = await curl;
  let total = 0;
  return stdout
    .trim()
    .split("\n")
    .map((line) => {
      const [status, size, seconds] = line.split(" ").map(Number) as [number, number, number];
      total += seconds * 1000;
      return { status, size, doneMs: total };
    });
}

test("s3 workers - more processes serve the S3 port, read the cache's page files themselves, and add up their metrics", async (t) => {
  if (!curl) return t.skip("curl not installed (apt install curl): it GETs while this process is blocked");
  if (!promtool) t.diagnostic("promtool not installed (apt install prometheus): the summed metrics are not checked by it");
  const cluster = await bootCluster(t, { s3Workers: 2 });
  const workers = await gatewayWorkers();
  assert.equal(workers.length, 1, "one worker besides this process");

  const s3 = s3Client(cluster.s3Url);
  await s3.send(new CreateBucketCommand({ Bucket: "workers" }));
  const body = randomBytes(4096);
  await s3.send(new PutObjectCommand({ Bucket: "workers", Key: "k", Body: body }));
  const url = await presignUrl(cluster.s3Url, "GET", "/workers/k", TEST_CREDENTIALS);

  // While this process (metadata, the cache node, the first gateway) is blocked, only the worker accepts: the first
  // GETs wait for metadata (the worker has not seen the key), later ones are answered from the worker's stat cache and
  // the page file, with no call into this process at all.
  let servedAlone = 0;
  for (let attempt = 0; attempt < 5 && servedAlone === 0; attempt++) {
    const answers = await getsWhileBlocked([url, url, url], 1_500);
    for (const answer of answers) assert.deepEqual([answer.status, answer.size], [200, 4096]);
    servedAlone = answers.filter((a) => a.doneMs < 1_200).length;
  }
  assert.ok(servedAlone > 0, "a GET was answered while the first process was blocked");
  const { stdout } = await run("curl", ["-s", url], { encoding: "buffer" });
  assert.ok(stdout.equals(body), "the bytes read from the page file are the object's");

  // Each scrape, whichever process answers it, counts every GET of the object, on both processes.
  const getsOf = (text: string) =>
    text
      .split("\n")
      .filter((line) => line.startsWith("koine_http_requests_total{") && line.includes('operation="GetObject"'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
  const counts = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${cluster.s3Url}/_koine/metrics`, { headers: { connection: "close" } });
    assert.equal(res.status, 200);
    const text = await res.text();
    if (promtool) {
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.equal(check.status, 0, `promtool check metrics on the summed text: ${check.stdout}${check.stderr}`);
    }
    counts.add(getsOf(text));
  }
  assert.equal(counts.size, 1, `every scrape adds up the same GETs: ${[...counts]}`);
  assert.ok(([...counts][0] as number) >= 4, "the GETs of both processes");

  // A worker checks who asks as the first process does: a stranger and a forged signature refused, bad input a 400.
  const signed = new URL(url);
  const unsigned = `${signed.origin}${signed.pathname}`;
  const forged = new URL(url);
  forged.searchParams.set("X-Amz-Signature", "0".repeat(64));
  const malformed = new URL(url);
  malformed.searchParams.set("X-Amz-Expires", "soon");
  const refused = await getsWhileBlocked([unsigned, forged.href, malformed.href], 1_000);
  assert.deepEqual(
    refused.map((a) => a.status),
    [403, 403, 400],
    "anonymous, forged signature, malformed expiry",
  );

  // A worker that dies is replaced; stopping the gateway stops its workers.
  process.kill(workers[0] as number, "SIGKILL");
  await waitFor("another worker", async () => {
    const now = await gatewayWorkers();
    return now.length === 1 && now[0] !== workers[0];
  });
  await waitFor("the S3 port to answer", async () => (await fetch(url).catch(() => undefined))?.status === 200);
  await cluster.stop();
  assert.deepEqual(await gatewayWorkers(), [], "no worker left after the stop");
});
