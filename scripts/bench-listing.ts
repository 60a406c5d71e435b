#!/usr/bin/env -S pnpm exec tsx
// Metadata at scale (issue 17): a bucket of a million keys shaped as a data
// lake lays them out (`dataset=d3/year=2026/month=05/part-01234.parquet`),
// put into the under-store as files and learnt by koine as it learns any
// existing data (its under-store sync, on first listing), then:
// ListObjectsV2 pages of 1000 with and without a delimiter, HEAD and GET of
// random keys (HEAD next to the same HEAD in a 10-key bucket), the rename of
// a directory of 100k entries (Alluxio proxy), and memory and disk per
// inode. Not a test.
//
//   npm run bench:listing [-- --keys 1000000] [-- --samples 200] [-- --sync-interval=-1]
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadClusterKey, natsCredentials } from "@koine/access";
import { connect, request } from "@koine/bus";
import { launchAllInOne } from "@koine/launcher";
import { Meta } from "@koine/protocol";
import { allInOnePorts } from "@koine/testkit";
import { basicAuth, presignUrl } from "@koine/testkit/clients";
import { argv, echo } from "zx";

const keys = Number(argv.keys ?? 1_000_000);
const samples = Number(argv.samples ?? 200);
// The under-store sync interval: koine's default (30 s) unless --sync-interval says (-1: never, as Alluxio's default).
if (typeof argv["sync-interval"] === "boolean") throw new Error("--sync-interval needs a value: --sync-interval=-1, --sync-interval=30s");
const syncInterval = argv["sync-interval"] === undefined ? {} : { KOINE_UFS_SYNC_INTERVAL: String(argv["sync-interval"]) };
const credentials = { accessKeyId: "koine", secretAccessKey: "koinesecret" };
const DATASETS = 10;
const MONTHS = 24;
const perDirectory = Math.ceil(keys / (DATASETS * MONTHS));

/** The key of file `i`: ten datasets, 24 months each (a directory each), the parts of a month in it. */
function keyOf(i: number): string {
  const dir = Math.floor(i / perDirectory);
  const dataset = dir % DATASETS;
  const month = Math.floor(dir / DATASETS);
  const year = 2025 + Math.floor(month / 12);
  return `dataset=d${dataset}/year=${year}/month=${String((month % 12) + 1).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.parquet`;
}

/** Writes the files of keys `0..count-1` below `root` (64 bytes each), a directory at a time. */
async function layOut(root: string, count: number): Promise<void> {
  const made = new Set<string>();
  const body = Buffer.alloc(64, "k");
  const WAVE = 512;
  for (let from = 0; from < count; from += WAVE) {
    const writes: Promise<void>[] = [];
    for (let i = from; i < Math.min(count, from + WAVE); i++) {
      const path = join(root, keyOf(i));
      const dir = join(path, "..");
      if (!made.has(dir)) {
        await mkdir(dir, { recursive: true });
        made.add(dir);
      }
      writes.push(writeFile(path, body));
    }
    await Promise.all(writes);
  }
}

/** The `p`th percentile of `times`. */
function percentile(times: number[], p: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
const ms = (n: number) => `${n.toFixed(1)} ms`;

/** Times one request (until its whole body is read); its body. */
async function timed(url: string, init: RequestInit = {}): Promise<{ ms: number; body: string; status: number }> {
  const started = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  return { ms: performance.now() - started, body, status: res.status };
}

/** Every page of a ListObjectsV2 of `bucket` (1000 keys a page), each page's time. */
async function listAll(endpoint: string, bucket: string, query: Record<string, string>): Promise<{ pages: number[]; keys: number }> {
  const pages: number[] = [];
  let keysSeen = 0;
  let token: string | undefined;
  do {
    const q: Record<string, string> = { "list-type": "2", "max-keys": "1000", ...query, ...(token ? { "continuation-token": token } : {}) };
    let page = await timed(await presignUrl(endpoint, "GET", `/${bucket}`, credentials, 3600, q));
    // A 503 is tried again, as S3 clients do (the first listing may take long while koine learns the files).
    for (let tries = 1; page.status === 503 && tries < 20; tries++) {
      echo(`ListObjectsV2 page ${pages.length + 1}: 503 after ${ms(page.ms)}, trying again`);
      page = await timed(await presignUrl(endpoint, "GET", `/${bucket}`, credentials, 3600, q));
    }
    if (page.status !== 200) throw new Error(`ListObjectsV2 answered ${page.status}: ${page.body.slice(0, 300)}`);
    pages.push(page.ms);
    keysSeen += (page.body.match(/<Key>/g) ?? []).length + (page.body.match(/<CommonPrefixes>/g) ?? []).length;
    token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(page.body)?.[1];
    token = token?.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  } while (token);
  return { pages, keys: keysSeen };
}

/** The p50 of `a` over the p50 of `b`. */
const p50ratio = (a: number[], b: number[]) => `${(percentile(a, 50) / percentile(b, 50)).toFixed(2)}×`;

/** p50 and p99 of `times`, as a table's cells. */
const spread = (times: number[]) => `${ms(percentile(times, 50))} | ${ms(percentile(times, 99))}`;

/** The latency of `count` requests made one at a time, each at a random key of `keyAt`. */
async function randomRequests(
  endpoint: string,
  method: string,
  count: number,
  keyAt: (i: number) => string,
  range: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let n = 0; n < count; n++) {
    const key = keyAt(Math.floor(Math.random() * range));
    const url = await presignUrl(endpoint, method, `/${key.split("/").map(encodeURIComponent).join("/")}`, credentials);
    const r = await timed(url, { method });
    if (r.status !== 200) throw new Error(`${method} /${key} answered ${r.status}`);
    times.push(r.ms);
  }
  return times;
}

/** Bytes of every data.mdb below `dir`. */
async function lmdbBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === "data.mdb") total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Resident memory of `pid` (VmRSS), bytes. */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

const home = await mkdtemp(join(tmpdir(), "koine-bench-listing-"));
try {
  const ufs = join(home, "ufs");
  let t = performance.now();
  await layOut(join(ufs, "lake"), keys);
  for (let i = 0; i < 10; i++) await layOut(join(ufs, "small"), 10);
  const laidOut = (performance.now() - t) / 1000;
  echo(`${keys} files (64 bytes each, ${perDirectory} a directory) laid out in the under-store in ${laidOut.toFixed(1)} s`);

  const ports = await allInOnePorts();
  const koine = await launchAllInOne({ KOINE_HOME: home, ...ports, ...syncInterval });
  const endpoint = `http://127.0.0.1:${ports.KOINE_S3_PORT}`;
  try {
    const pid = koine.pid as number;
    const rssBefore = await rssOf(pid);
    const lmdbBefore = await lmdbBytes(join(home, "metadata"));

    // First listings: koine learns the under-store's files as it lists them (the small bucket first: its entries are as
    // old as the big one's when HEAD compares them).
    await listAll(endpoint, "small", {});
    t = performance.now();
    const first = await listAll(endpoint, "lake", {});
    const learnt = (performance.now() - t) / 1000;
    if (first.keys !== keys) throw new Error(`the first listing found ${first.keys} keys, not ${keys}`);
    const rssAfter = await rssOf(pid);
    const lmdbAfter = await lmdbBytes(join(home, "metadata"));

    const flat = await listAll(endpoint, "lake", {});
    const leaf = keyOf(Math.floor(keys / 2)).replace(/[^/]+$/, "");
    const delimited: number[] = [];
    while (delimited.length < samples) delimited.push(...(await listAll(endpoint, "lake", { prefix: leaf, delimiter: "/" })).pages);
    const roots: number[] = [];
    for (let n = 0; n < 20; n++) roots.push(...(await listAll(endpoint, "lake", { delimiter: "/" })).pages);
    const headBig = await randomRequests(endpoint, "HEAD", samples, (i) => `lake/${keyOf(i)}`, keys);
    const headSmall = await randomRequests(endpoint, "HEAD", samples, (i) => `small/${keyOf(i)}`, 10);
    const getBig = await randomRequests(endpoint, "GET", samples, (i) => `lake/${keyOf(i)}`, keys);
    // The gateway keeps what it was told for 5 s, so HEADs of a 10-key bucket mostly stop there: metadata's own stat,
    // asked over NATS as the gateway asks it, compares the namespace lookups themselves.
    const nc = await connect({
      servers: `nats://127.0.0.1:${ports.KOINE_NATS_PORT}`,
      name: "bench-listing",
      auth: natsCredentials(loadClusterKey(undefined, join(home, "cluster.key")), "alluxio-admin"),
    });
    const statTimes = async (bucket: string, range: number) => {
      const times: number[] = [];
      for (let n = 0; n < samples; n++) {
        const started = performance.now();
        await request(nc, Meta.stat, { path: `/${bucket}/${keyOf(Math.floor(Math.random() * range))}` });
        times.push(performance.now() - started);
      }
      return times;
    };
    const statBig = await statTimes("lake", keys);
    const statSmall = await statTimes("small", 10);
    await nc.close();

    // The rename of one dataset: a directory of keys/10 entries, by the Alluxio proxy.
    const renamed = await timed(`http://127.0.0.1:${ports.KOINE_ALLUXIO_PORT}/api/v1/paths//lake/dataset=d0/rename?dst=/lake/renamed-d0`, {
      method: "POST",
      headers: basicAuth(credentials),
    });
    if (renamed.status !== 200) throw new Error(`rename answered ${renamed.status}: ${renamed.body}`);
    const moved = await listAll(endpoint, "lake", { prefix: "renamed-d0/" });

    echo(`
${keys} keys in bucket "lake" (under-store sync interval: ${argv["sync-interval"] ?? "30s, the default"}), ${perDirectory} keys a directory, 4 levels (\`${keyOf(12345)}\`); ${samples} samples each, one request at a time (fetch, presigned)

| what | p50 | p99 |
| --- | --- | --- |
| ListObjectsV2, no delimiter, page of 1000 (${flat.pages.length} pages, the whole bucket) | ${spread(flat.pages)} |
| ListObjectsV2, delimiter "/", prefix of a month (${perDirectory} keys), page of 1000 | ${spread(delimited)} |
| ListObjectsV2, delimiter "/", the bucket's root (${DATASETS} prefixes) | ${spread(roots)} |
| HEAD of a random key, ${keys}-key bucket | ${spread(headBig)} |
| HEAD of a random key, 10-key bucket | ${spread(headSmall)} |
| GET of a random key (64 bytes), ${keys}-key bucket | ${spread(getBig)} |
| metadata's stat of a random key (NATS, as the gateway asks), ${keys}-key bucket | ${spread(statBig)} |
| metadata's stat of a random key (NATS, as the gateway asks), 10-key bucket | ${spread(statSmall)} |

- HEAD in the ${keys}-key bucket over HEAD in the 10-key bucket, p50: ${p50ratio(headBig, headSmall)} (the 10-key bucket's mostly answered from the gateway's 5 s cache); metadata's stat: ${p50ratio(statBig, statSmall)}
- first listing of the bucket (koine learns ${keys} files from the under-store as it lists): ${learnt.toFixed(1)} s (${Math.round(keys / learnt)} keys/s; ${first.pages.length} pages)
- rename of a directory of ${moved.keys} entries (Alluxio proxy): ${ms(renamed.ms)}
- memory: ${((rssAfter - rssBefore) / keys).toFixed(0)} bytes of resident memory a key (the whole all-in-one process, ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB; LMDB's pages count as they are mapped)
- disk: ${((lmdbAfter - lmdbBefore) / keys).toFixed(0)} bytes of LMDB a key (${(lmdbAfter / 2 ** 20).toFixed(0)} MiB)
`);
  } finally {
    koine.kill("SIGTERM");
    await new Promise((r) => koine.once("exit", r));
  }
} finally {
  await rm(home, { recursive: true, force: true });
}
