#!/usr/bin/env -S pnpm exec tsx
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
// PUT and warm/cold GET throughput of koine, next to nginx serving the same
// files from the same disk in the same run, as ratios. Not a test.
//
//   npm run bench [-- --seconds 10] [-- --memory 0]   (--memory: the cache node's memory tier, e.g. 0 or 256MiB)
//
// koine runs as `npm run up` does (all services in one process, one cache
// node); load comes from wrk (GET, presigned URLs) and the AWS SDK (PUT).
import { loadClusterKey, natsCredentials } from "@koine/access";
import { connect, request } from "@koine/bus";
import { launchAllInOne } from "@koine/launcher";
import { cacheNode } from "@koine/protocol";
import { allInOnePorts, freePorts } from "@koine/testkit";
import { basicAuth, presignUrl } from "@koine/testkit/clients";
import { $, argv, echo, which } from "zx";
import { type S3Target, startMoto, startS3rver } from "./peers.ts";
import { putManyScript, wrk as runWrk } from "./wrk.ts";

$.verbose = false;
const seconds = Number(argv.seconds ?? 10);
const memory = argv.memory === undefined ? undefined : String(argv.memory);
const credentials = { accessKeyId: "koine", secretAccessKey: "koinesecret" };
const _root = new URL("..", import.meta.url).pathname;
const KiB = 1024;
const MiB = 1024 * KiB;

async function ensureTool(tool: string, pkg: string): Promise<void> {
  if (await which(tool, { nothrow: true })) return;
  echo(`installing ${pkg} (apt)`);
  await $`apt-get install -y -qq ${pkg}`.nothrow();
  if (!(await which(tool, { nothrow: true }))) throw new Error(`${tool} is missing and could not be installed`);
}

/** wrk against one URL for the run's seconds. */
const wrk = (url: string, connections: number, script?: string) => runWrk(url, connections, seconds, script);

async function timedGet(url: string): Promise<number> {
  const start = performance.now();
  const res = await fetch(url);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return bytes / ((performance.now() - start) / 1000);
}

/** GETs of `url` (redirects followed, as the AIS SDK does) from `connections` loops for the run's seconds: requests and bytes a second. */
async function fetchRate(url: string, headers: Record<string, string>, connections: number): Promise<{ rps: number; bps: number }> {
  const until = performance.now() + seconds * 1000;
  let requests = 0;
  let bytes = 0;
  const loop = async () => {
    while (performance.now() < until) {
      const res = await fetch(url, { headers });
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
      if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
      requests++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (performance.now() - start) / 1000;
  return { rps: requests / elapsed, bps: bytes / elapsed };
}

/** The median of `count` PUTs of `size` bytes, one at a time, by presigned URL (signing not timed): milliseconds. */
async function putLatency(target: S3Target, prefix: string, size: number, count: number): Promise<number> {
  const body = randomBytes(size);
  const urls: string[] = [];
  for (let i = 0; i < count; i++) urls.push(await presignUrl(target.endpoint, "PUT", `${prefix}/${i}`, target.credentials));
  const times: number[] = [];
  for (const url of urls) {
    const start = performance.now();
    const res = await fetch(url, { method: "PUT", body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${target.name}: PUT ${url}: ${res.status}`);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
}

/** What every S3 server (koine and its peers) is measured on, with the same clients. */
interface S3Results {
  putSmallRps: number;
  putSmallP50Ms: number;
  putMiBP50Ms: number;
  getSmallRps: number;
  getBigBps: number;
}

/** Runs the shared workloads against `target` in bucket "peers" (made here). */
async function s3Workloads(target: S3Target, home: string, bigFile: string): Promise<S3Results> {
  const s3 = new S3Client({ endpoint: target.endpoint, region: "us-east-1", forcePathStyle: true, credentials: target.credentials });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "peers" }));
    const putSmallRps = (
      await wrk(target.endpoint, 32, await putManyScript(home, `peers-${target.name}`, target.endpoint, "/peers/many", target.credentials))
    ).rps;
    const putSmallP50Ms = await putLatency(target, "/peers/one", 4 * KiB, 200);
    const putMiBP50Ms = await putLatency(target, "/peers/mib", MiB, 40);
    await s3.send(new PutObjectCommand({ Bucket: "peers", Key: "small", Body: randomBytes(4 * KiB) }));
    const getSmallRps = (await wrk(await presignUrl(target.endpoint, "GET", "/peers/small", target.credentials), 32)).rps;
    const bigUrl = await presignUrl(target.endpoint, "PUT", "/peers/big", target.credentials);
    const code = (await $`curl -s -o /dev/null -w %{http_code} -T ${bigFile} ${bigUrl}`).stdout;
    if (code !== "200") throw new Error(`${target.name}: PUT big: ${code}`);
    const bigGet = await presignUrl(target.endpoint, "GET", "/peers/big", target.credentials);
    await timedGet(bigGet); // warm
    const getBigBps = Math.max(await timedGet(bigGet), await timedGet(bigGet));
    return { putSmallRps, putSmallP50Ms, putMiBP50Ms, getSmallRps, getBigBps };
  } finally {
    s3.destroy();
  }
}

/**
 * A second koine whose S3 port is served by `workers` processes (KOINE_S3_WORKERS), as nginx's `auto` has one
 * worker a core: GET 4 KiB warm and PUT 4 KiB over 4000 keys, 32 connections each. The first koine idles meanwhile.
 */
async function s3WithWorkers(workers: number): Promise<{ getSmallRps: number; putSmallRps: number }> {
  const workersHome = join(home, "workers");
  const workerPorts = await allInOnePorts();
  const cluster = await launchAllInOne({ KOINE_HOME: workersHome, ...workerPorts, KOINE_S3_WORKERS: String(workers) });
  try {
    const endpoint = `http://127.0.0.1:${workerPorts.KOINE_S3_PORT}`;
    const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    await s3.send(new PutObjectCommand({ Bucket: "bench", Key: "small/0", Body: randomBytes(4 * KiB) }));
    s3.destroy();
    const small = await presignUrl(endpoint, "GET", "/bench/small/0", credentials);
    await timedGet(small);
    const getSmallRps = (await wrk(small, 32)).rps;
    const putSmallRps = (await wrk(endpoint, 32, await putManyScript(workersHome, "put-many", endpoint, "/bench/put-many", credentials)))
      .rps;
    return { getSmallRps, putSmallRps };
  } finally {
    cluster.kill("SIGTERM");
    await new Promise((r) => cluster.once("exit", r));
  }
}

const mbs = (bps: number) => `${(bps / MiB).toFixed(0)} MiB/s`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "n/a");

await ensureTool("nginx", "nginx");
await ensureTool("wrk", "wrk");
const home = await mkdtemp(join(tmpdir(), "koine-bench-"));
const ports = await allInOnePorts();
const [natsPort, s3Port, aisPort, ozonePort] = [ports.KOINE_NATS_PORT, ports.KOINE_S3_PORT, ports.KOINE_AIS_PORT, ports.KOINE_OZONE_PORT];
const koine = await launchAllInOne({ KOINE_HOME: home, ...ports });
// Asked for once koine listens: they cannot be one of its ports.
const [nginxPort, nginxOneWorkerPort, bareNodePort] = (await freePorts(3)) as [number, number, number];
/** The reference servers (nginx, bare node:http), stopped at the end. */
const references: ChildProcess[] = [];
try {
  const endpoint = `http://127.0.0.1:${s3Port}`;
  const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: "bench" }));

  // PUT throughput, with presigned URLs (UNSIGNED-PAYLOAD) from curl and wrk, so that the client does
  // not set the pace (undici's fetch manages ~80 MiB/s for a 64 MiB body here); the same file written by
  // dd with fsync is the reference.
  const bigFile = join(home, "big.src");
  await writeFile(bigFile, randomBytes(64 * MiB));
  const ddOut = (await $`dd if=${bigFile} of=${join(home, "dd.out")} bs=1M conv=fsync`).stderr;
  const ddSeconds = Number(/([\d.]+) s,/.exec(ddOut)?.[1] ?? Number.NaN);
  const ddBps = (64 * MiB) / ddSeconds;
  const bigPuts = 6;
  let start = performance.now();
  for (let i = 0; i < bigPuts; i++) {
    const url = await presignUrl(endpoint, "PUT", `/bench/big${i}`, credentials);
    const code = (await $`curl -s -o /dev/null -w %{http_code} -T ${bigFile} ${url}`).stdout;
    if (code !== "200") throw new Error(`PUT big${i}: ${code}`);
  }
  const putBigBps = (bigPuts * 64 * MiB) / ((performance.now() - start) / 1000);
  const putScript = join(home, "put.lua");
  await writeFile(putScript, `wrk.method = "PUT"\nwrk.body = string.rep("x", 4096)\n`);
  const putSmall = await wrk(await presignUrl(endpoint, "PUT", "/bench/put-small", credentials), 32, putScript);
  // The same over many keys: each wrk thread walks its own half of 4000 presigned URLs.
  const manyScript = await putManyScript(home, "put-many", endpoint, "/bench/put-many", credentials);
  const putMany = await wrk(endpoint, 32, manyScript);
  await s3.send(new PutObjectCommand({ Bucket: "bench", Key: "small/0", Body: randomBytes(4 * KiB) }));
  // A 64 MiB key in an Ozone bucket (a directory of the volume "bench").
  await s3.send(new PutObjectCommand({ Bucket: "bench", Key: "large/0", Body: await readFile(bigFile) }));
  start = performance.now();
  await s3.send(new PutObjectCommand({ Bucket: "bench", Key: "sdk-big", Body: await readFile(bigFile) }));
  const putSdkBps = (64 * MiB) / ((performance.now() - start) / 1000);
  s3.destroy();

  // nginx on the very files koine wrote to its under-store: as many workers as cores, and one worker, as koine's one process.
  const startNginx = async (workers: string, port: number, name: string): Promise<ChildProcess> => {
    const conf = join(home, `${name}.conf`);
    await writeFile(
      conf,
      `daemon off; user root; worker_processes ${workers}; pid ${home}/${name}.pid; error_log ${home}/${name}.err;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  server { listen 127.0.0.1:${port}; root ${home}/ufs; } }`,
    );
    const started = spawn("nginx", ["-c", conf, "-p", home], { stdio: "ignore" });
    references.push(started);
    await new Promise((r) => setTimeout(r, 500));
    return started;
  };
  await startNginx("auto", nginxPort, "nginx");
  await startNginx("1", nginxOneWorkerPort, "nginx-one-worker");
  // What any Node server pays: node:http answering 4 KiB from memory and doing nothing else, in one process as koine.
  const bareNode = spawn(
    process.execPath,
    [
      "-e",
      `const body = Buffer.alloc(4096, 120);
require("node:http").createServer((req, res) => res.end(body)).listen(${bareNodePort}, "127.0.0.1");`,
    ],
    { stdio: "ignore" },
  );
  references.push(bareNode);
  await new Promise((r) => setTimeout(r, 500));

  const koineSmall = await presignUrl(endpoint, "GET", "/bench/small/0", credentials);
  const koineBig = await presignUrl(endpoint, "GET", "/bench/big0", credentials);
  const nginxSmall = `http://127.0.0.1:${nginxPort}/bench/small/0`;
  const nginxBig = `http://127.0.0.1:${nginxPort}/bench/big0`;
  await timedGet(koineBig); // warm the cache and the page cache

  const warmSmall = {
    koine: await wrk(koineSmall, 32),
    nginx: await wrk(nginxSmall, 32),
    nginxOneWorker: await wrk(`http://127.0.0.1:${nginxOneWorkerPort}/bench/small/0`, 32),
    bareNode: await wrk(`http://127.0.0.1:${bareNodePort}/`, 32),
  };
  const warmBig = { koine: await wrk(koineBig, 4), nginx: await wrk(nginxBig, 4) };
  const withWorkers = await s3WithWorkers(cpus().length);

  // AIS: the gateway's redirect, then the owning target, against S3's GET of the same objects, by the same client loop.
  const basic = basicAuth(credentials);
  const aisObjects = `http://127.0.0.1:${aisPort}/v1/objects/bench`;
  const ais = {
    small: { ais: await fetchRate(`${aisObjects}/small/0`, basic, 32), s3: await fetchRate(koineSmall, {}, 32) },
    big: { ais: await fetchRate(`${aisObjects}/big0`, basic, 4), s3: await fetchRate(koineBig, {}, 4) },
  };

  // Ozone: the gateway streams the key itself, against S3's GET of the same keys, by the same client loop.
  const ozoneHeaders = { ...basic, "x-ozone-version": "v1", date: new Date().toUTCString() };
  const ozoneKeys = `http://127.0.0.1:${ozonePort}/bench`;
  const koineLarge = await presignUrl(endpoint, "GET", "/bench/large/0", credentials);
  await timedGet(koineLarge);
  const ozone = {
    small: { ozone: await fetchRate(`${ozoneKeys}/small/0`, ozoneHeaders, 32), s3: await fetchRate(koineSmall, {}, 32) },
    big: { ozone: await fetchRate(`${ozoneKeys}/large/0`, ozoneHeaders, 4), s3: await fetchRate(koineLarge, {}, 4) },
  };

  // Cold: koine's cache emptied before each read (bytes come from the under-store through the read-through path).
  const auth = natsCredentials(loadClusterKey(undefined, join(home, "cluster.key")), "alluxio-admin");
  const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}`, name: "bench", auth });
  const coldRuns: number[] = [];
  for (let i = 0; i < 4; i++) {
    await request(nc, cacheNode("node0").free, {});
    coldRuns.push(await timedGet(koineBig));
  }
  await nc.close();
  const coldKoine = coldRuns.reduce((a, b) => a + b, 0) / coldRuns.length;
  const nginxOnce = await timedGet(nginxBig);

  // Peers: the same workloads by the same clients against koine, s3rver and moto_server, one server at a time.
  const peerRuns: { name: string; results: S3Results }[] = [
    { name: "koine", results: await s3Workloads({ name: "koine", endpoint, credentials, stop: async () => {} }, home, bigFile) },
  ];
  for (const start of [() => startS3rver(join(home, "s3rver")), startMoto]) {
    const peer = await start();
    if (typeof peer === "string") {
      echo(`a peer is left out: ${peer}`);
      continue;
    }
    try {
      peerRuns.push({ name: peer.name, results: await s3Workloads(peer, home, bigFile) });
    } finally {
      await peer.stop();
    }
  }
  const [ours, ...others] = peerRuns as [{ name: string; results: S3Results }, ...{ name: string; results: S3Results }[]];
  /** A row: each server's value, then koine's speed over each peer's (above 1: koine is faster). */
  const peerRow = (what: string, value: (r: S3Results) => number, show: (v: number) => string, lowerIsFaster = false) =>
    `| ${what} | ${peerRuns.map((p) => show(value(p.results))).join(" | ")} | ${others
      .map((p) => (lowerIsFaster ? ratio(value(p.results), value(ours.results)) : ratio(value(ours.results), value(p.results))))
      .join(" | ")} |`;
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const perSecond = (v: number) => `${v.toFixed(0)}/s`;
  const peerTable = [
    `| workload (same clients for all) | ${peerRuns.map((p) => p.name).join(" | ")} | ${others.map((p) => `koine vs ${p.name}`).join(" | ")} |`,
    `| --- | ${peerRuns.map(() => "---").join(" | ")} | ${others.map(() => "---").join(" | ")} |`,
    peerRow("PUT 4 KiB, 32 connections (wrk, 4000 keys)", (r) => r.putSmallRps, perSecond),
    peerRow("PUT 4 KiB one at a time, p50 (fetch)", (r) => r.putSmallP50Ms, ms, true),
    peerRow("PUT 1 MiB one at a time, p50 (fetch)", (r) => r.putMiBP50Ms, ms, true),
    peerRow("GET 4 KiB warm, 32 connections (wrk)", (r) => r.getSmallRps, perSecond),
    peerRow("GET 64 MiB warm, 1 stream (fetch)", (r) => r.getBigBps, mbs),
  ].join("\n");

  echo(`
machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}; wrk -t2, ${seconds} s per run; cache memory tier ${memory ?? "default (256 MiB)"}

| workload | koine | nginx (same files) | koine / nginx |
| --- | --- | --- | --- |
| GET 4 KiB warm, 32 connections | ${warmSmall.koine.rps.toFixed(0)} req/s | ${warmSmall.nginx.rps.toFixed(0)} req/s | ${ratio(warmSmall.koine.rps, warmSmall.nginx.rps)} |
| GET 4 KiB warm, 32 connections, nginx with one worker (koine's front-ends are one process) | ${warmSmall.koine.rps.toFixed(0)} req/s | ${warmSmall.nginxOneWorker.rps.toFixed(0)} req/s | ${ratio(warmSmall.koine.rps, warmSmall.nginxOneWorker.rps)} |
| GET 4 KiB, 32 connections, against bare node:http answering 4 KiB from memory (no routing, no signature, no cache: Node's floor) | ${warmSmall.koine.rps.toFixed(0)} req/s | ${warmSmall.bareNode.rps.toFixed(0)} req/s (node:http) | ${ratio(warmSmall.koine.rps, warmSmall.bareNode.rps)} |
| GET 4 KiB warm, 32 connections, koine's S3 port served by ${cpus().length} processes (KOINE_S3_WORKERS) as nginx's ${cpus().length} workers | ${withWorkers.getSmallRps.toFixed(0)} req/s | ${warmSmall.nginx.rps.toFixed(0)} req/s | ${ratio(withWorkers.getSmallRps, warmSmall.nginx.rps)} |
| GET 64 MiB warm, 4 connections | ${mbs(warmBig.koine.bps)} | ${mbs(warmBig.nginx.bps)} | ${ratio(warmBig.koine.bps, warmBig.nginx.bps)} |
| GET 64 MiB cold (cache emptied), 1 stream | ${mbs(coldKoine)} | ${mbs(nginxOnce)} (1 stream, page cache) | ${ratio(coldKoine, nginxOnce)} |
| PUT 64 MiB, 1 stream (curl, presigned) | ${mbs(putBigBps)} | dd with fsync: ${mbs(ddBps)} | ${ratio(putBigBps, ddBps)} |
| PUT 64 MiB, 1 stream (AWS SDK: signed SHA-256 + CRC32 on the client) | ${mbs(putSdkBps)} | | |
| PUT 4 KiB, 32 connections (wrk, presigned, 4000 keys) | ${putMany.rps.toFixed(0)} req/s | | |
| PUT 4 KiB, 32 connections (wrk, presigned, 4000 keys), S3 port served by ${cpus().length} processes | ${withWorkers.putSmallRps.toFixed(0)} req/s | | |
| PUT 4 KiB, 32 connections (wrk, presigned, one key overwritten: its commits run in turn) | ${putSmall.rps.toFixed(0)} req/s | | |

| AIS GET (fetch loops, redirect followed) | AIS: gateway 301, then target | S3 GET, same objects, same loops | AIS / S3 |
| --- | --- | --- | --- |
| 4 KiB warm, 32 connections | ${ais.small.ais.rps.toFixed(0)} req/s | ${ais.small.s3.rps.toFixed(0)} req/s | ${ratio(ais.small.ais.rps, ais.small.s3.rps)} |
| 64 MiB warm, 4 connections | ${mbs(ais.big.ais.bps)} | ${mbs(ais.big.s3.bps)} | ${ratio(ais.big.ais.bps, ais.big.s3.bps)} |

| Ozone GET key (fetch loops) | Ozone REST | S3 GET, same keys, same loops | Ozone / S3 |
| --- | --- | --- | --- |
| 4 KiB warm, 32 connections | ${ozone.small.ozone.rps.toFixed(0)} req/s | ${ozone.small.s3.rps.toFixed(0)} req/s | ${ratio(ozone.small.ozone.rps, ozone.small.s3.rps)} |
| 64 MiB warm, 4 connections | ${mbs(ozone.big.ozone.bps)} | ${mbs(ozone.big.s3.bps)} | ${ratio(ozone.big.ozone.bps, ozone.big.s3.bps)} |

Peers (koine vs a peer: koine's speed over the peer's, above 1× koine is faster; s3rver and moto keep nothing durable):

${peerTable}
`);
} finally {
  for (const reference of references) reference.kill("SIGTERM");
  koine.kill("SIGTERM");
  await new Promise((r) => koine.once("exit", r));
  await rm(home, { recursive: true, force: true });
}
