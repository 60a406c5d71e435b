#!/usr/bin/env -S pnpm exec tsx
// Where a workload's time goes in koine's process: starts koine as `npm run
// up` does (all services in one process) under `node --cpu-prof`, runs one
// workload, stops it and prints the profile's self time by function and by
// package. Not a test.
//
//   npm run profile -- put-64mib | put-4kib | put-4kib-32 | get-4kib   [--count N] [--seconds S] [--callers FUNCTION]
//
// put-64mib and put-4kib go one at a time (curl, fetch; --count of them);
// put-4kib-32 (4000 keys) and get-4kib are wrk with 32 connections for
// --seconds (5), as the bench runs them.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { launchAllInOne } from "@koine/launcher";
import { allInOnePorts } from "@koine/testkit";
import { presignUrl } from "@koine/testkit/clients";
import { $, argv, echo } from "zx";
import { putManyScript, wrk } from "./wrk.ts";

$.verbose = false;
const workload = String(argv._[0] ?? "put-64mib");
const credentials = { accessKeyId: "koine", secretAccessKey: "koinesecret" };
const seconds = Number(argv.seconds ?? 5);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives: a package of node_modules, a koine package or service, node itself. */
function placeOf(url: string): string {
  if (!url) return "(native or idle)";
  if (url.startsWith("node:")) return "node core";
  const modules = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1] as string;
  const ours = /\/(packages|services|launcher)\/([^/]+)/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

/** A frame as the tables show it: its function and where it is, shortened to the package. */
function frameName(frame: ProfileNode["callFrame"]): string {
  const where = frame.url ? ` ${frame.url.replace(/^.*\/(node_modules|packages|services)\//, "$1/")}:${frame.lineNumber + 1}` : "";
  return `${frame.functionName || "(anonymous)"}${where}`;
}

/** Each profile node's self time: ms sampled while it was on top of the stack. */
function selfTime(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  return self;
}

/** Self time (ms) by function and by place, busiest first. */
function summarize(profile: Profile): { total: number; byFunction: [string, number][]; byPlace: [string, number][] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = selfTime(profile);
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame) continue;
    total += ms;
    const fn = frameName(frame);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    const place = frame.functionName === "(idle)" ? "(idle)" : placeOf(frame.url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, byFunction: sorted(byFunction), byPlace: sorted(byPlace) };
}

/**
 * The time spent per workload request in each kind of request koine's
 * process made or answered (HTTP, NATS by subject), from the histograms'
 * sums and counts on `/metrics`: the stages of a request and their waits,
 * which a CPU profile does not see.
 */
async function stagesOf(metricsUrl: string, requests: number): Promise<string[]> {
  const text = await (await fetch(metricsUrl)).text();
  const rows: [string, number, number][] = [];
  const families = ["koine_http_request_duration_seconds", "koine_nats_request_duration_seconds", "koine_nats_served_duration_seconds"];
  for (const family of families) {
    const sums = new Map<string, number>();
    for (const m of text.matchAll(new RegExp(`^${family}_(sum|count)\\{([^}]*)\\} ([\\d.e+-]+)$`, "gm"))) {
      const labels = (m[2] as string).replace(/,?code="[^"]*"|,?status="[^"]*"/g, "");
      const key = `${m[1]} ${labels}`;
      sums.set(key, (sums.get(key) ?? 0) + Number(m[3]));
    }
    for (const [key, count] of sums) {
      if (!key.startsWith("count ")) continue;
      const labels = key.slice("count ".length);
      const seconds = sums.get(`sum ${labels}`) ?? 0;
      rows.push([`${family.replace(/^koine_|_duration_seconds$/g, "")} ${labels}`, count, seconds * 1000]);
    }
  }
  return rows
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[2] - a[2])
    .slice(0, 15)
    .map(([what, count, ms]) => `| ${what} | ${count} | ${(ms / count).toFixed(2)} | ${(ms / requests).toFixed(2)} |`);
}

/** CPU ms used so far by each thread of `pid`, in user space and in the kernel (keys "<tid> user", "<tid> kernel"), from /proc. */
async function threadCpu(pid: number): Promise<Map<string, number>> {
  const used = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime, in clock ticks (100 a second on Linux).
    if (fields.length > 12) {
      used.set(`${tid} user`, Number(fields[11]) * 10);
      used.set(`${tid} kernel`, Number(fields[12]) * 10);
    }
  }
  return used;
}

/** The machine's busy and total CPU ms so far (every core), from /proc/stat. */
async function machineCpu(): Promise<{ busy: number; total: number }> {
  const ticks = ((await readFile("/proc/stat", "utf8")).split("\n")[0] as string).split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  // idle and iowait
  return { busy: (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) * 10, total: total * 10 };
}

/** Where the CPU went during the workload: koine's main thread, its other threads, nats-server, the whole machine. */
async function cpuDuring(koinePid: number, natsPid: number | undefined, work: () => Promise<void>): Promise<Record<string, number>> {
  const [k0, n0, m0] = await Promise.all([threadCpu(koinePid), natsPid ? threadCpu(natsPid) : new Map(), machineCpu()]);
  await work();
  const [k1, n1, m1] = await Promise.all([threadCpu(koinePid), natsPid ? threadCpu(natsPid) : new Map(), machineCpu()]);
  const spent = (after: Map<string, number>, before: Map<string, number>, which: (key: string) => boolean) =>
    [...after].filter(([key]) => which(key)).reduce((sum, [key, ms]) => sum + ms - (before.get(key) ?? 0), 0);
  const main = (key: string) => key.startsWith(`${koinePid} `);
  return {
    "koine, main thread, user": spent(k1, k0, (key) => main(key) && key.endsWith("user")),
    "koine, main thread, kernel": spent(k1, k0, (key) => main(key) && key.endsWith("kernel")),
    "koine, other threads, user (V8's helpers: GC; LMDB's writer)": spent(k1, k0, (key) => !main(key) && key.endsWith("user")),
    "koine, other threads, kernel (libuv's pool: file calls, fsyncs)": spent(k1, k0, (key) => !main(key) && key.endsWith("kernel")),
    "nats-server": spent(n1, n0, () => true),
    "the whole machine, busy": m1.busy - m0.busy,
    "the whole machine, available": m1.total - m0.total,
  };
}

const home = await mkdtemp(join(tmpdir(), "koine-profile-"));
const profiles = join(home, "profiles");
const ports = await allInOnePorts();
const koine = await launchAllInOne({ KOINE_HOME: home, ...ports }, ["--cpu-prof", `--cpu-prof-dir=${profiles}`]);
const endpoint = `http://127.0.0.1:${ports.KOINE_S3_PORT}`;
let wall = 0;
let count = 0;
let stages: string[] = [];
let cpu: Record<string, number> = {};
try {
  const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: "profile" }));
  s3.destroy();
  const size = { "put-64mib": 64 * 1024 * 1024, "put-4kib": 4096, "put-4kib-32": 4096, "get-4kib": 4096 }[workload];
  if (size === undefined) throw new Error(`no workload ${workload}: put-64mib, put-4kib, put-4kib-32 or get-4kib`);
  count = Number(argv.count ?? (workload === "put-64mib" ? 8 : 2000));
  const file = join(home, "body");
  await writeFile(file, randomBytes(size));
  const body = await readFile(file);
  const natsPid = Number((await $`pgrep -f ${`nats-server.*${home}`}`.nothrow()).stdout.trim()) || undefined;
  const started = performance.now();
  cpu = await cpuDuring(koine.pid as number, natsPid, async () => {
    if (workload === "get-4kib") {
      const put = await presignUrl(endpoint, "PUT", "/profile/small", credentials);
      await fetch(put, { method: "PUT", body });
      const url = await presignUrl(endpoint, "GET", "/profile/small", credentials);
      await (await fetch(url)).arrayBuffer();
      count = (await wrk(url, 32, seconds)).requests;
    } else if (workload === "put-4kib-32") {
      count = (await wrk(endpoint, 32, seconds, await putManyScript(home, "put-many", endpoint, "/profile/many", credentials))).requests;
    } else if (workload === "put-64mib") {
      // curl, as the bench does: the client is not what is measured.
      for (let i = 0; i < count; i++)
        await $`curl -s -f -o /dev/null -T ${file} ${await presignUrl(endpoint, "PUT", `/profile/k${i}`, credentials)}`;
    } else {
      for (let i = 0; i < count; i++)
        await fetch(await presignUrl(endpoint, "PUT", `/profile/k${i}`, credentials), { method: "PUT", body });
    }
  });
  wall = performance.now() - started;
  stages = await stagesOf(`${endpoint}/_koine/metrics`, count);
} finally {
  koine.kill("SIGTERM");
  await new Promise((r) => koine.once("exit", r));
}
const files = (await readdir(profiles)).filter((f) => f.endsWith(".cpuprofile"));
const profile = JSON.parse(await readFile(join(profiles, files[0] as string), "utf8")) as Profile;
const { total, byFunction, byPlace } = summarize(profile);
const pct = (ms: number) => `${((100 * ms) / total).toFixed(1)} %`;
echo(
  `${workload}: ${count} requests in ${wall.toFixed(0)} ms (${(wall / count).toFixed(2)} ms each); koine's process sampled ${total.toFixed(0)} ms\n`,
);
echo("| CPU during the workload (from /proc) | ms per workload request |\n| --- | --- |");
for (const [where, ms] of Object.entries(cpu)) echo(`| ${where} | ${(ms / count).toFixed(1)} |`);
echo("\n| kind of request (from /metrics) | count | ms each | ms per workload request |\n| --- | --- | --- | --- |");
for (const row of stages) echo(row);
echo("\n| where (self time) | ms | share |\n| --- | --- | --- |");
for (const [place, ms] of byPlace.slice(0, 15)) echo(`| ${place} | ${ms.toFixed(0)} | ${pct(ms)} |`);
echo("\n| function (self time) | ms | share |\n| --- | --- | --- |");
for (const [fn, ms] of byFunction.slice(0, 25)) echo(`| \`${fn}\` | ${ms.toFixed(0)} | ${pct(ms)} |`);
/** The callers (three frames up) of the functions named in `--callers`, by self time: where a hot spot is reached from. */
if (argv.callers) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = selfTime(profile);
  const paths = new Map<string, number>();
  for (const [id, ms] of self) {
    if (nodes.get(id)?.callFrame.functionName !== argv.callers) continue;
    const chain: string[] = [];
    for (let at = parent.get(id); at !== undefined && chain.length < 3; at = parent.get(at)) {
      const f = nodes.get(at)?.callFrame;
      if (f) chain.push(frameName(f));
    }
    const path = chain.join(" ← ");
    paths.set(path, (paths.get(path) ?? 0) + ms);
  }
  echo(`\ncallers of ${argv.callers}:`);
  for (const [chain, ms] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 8)) echo(`${ms.toFixed(0)} ms  ${chain}`);
}
await rm(home, { recursive: true, force: true });
