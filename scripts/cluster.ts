#!/usr/bin/env -S pnpm exec tsx
import { spawn } from "node:child_process";
// A multi-process local cluster, started the way an operator would start
// koine on several hosts: one process per service, found through NATS.
//
//   scripts/cluster up [--nodes N]   nats-server, metadata, N cache nodes, job-runner, s3-gateway, alluxio-proxy, alluxio-admin
//   scripts/cluster status           which processes run, which cache nodes are members
//   scripts/cluster down             stops them all (SIGTERM, newest first)
//
// Settings: KOINE_HOME (default .koine-cluster), KOINE_NATS_PORT (4222),
// KOINE_S3_PORT (9000), KOINE_ALLUXIO_PORT (39999), KOINE_ADMIN_PORT (19999), KOINE_CACHE_PORT (29999, +1 per node).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { argv, echo, sleep } from "zx";

const root = new URL("..", import.meta.url).pathname;
const home = resolve(process.env.KOINE_HOME ?? join(root, ".koine-cluster"));
const runDir = join(home, "run");
const logDir = join(home, "logs");
const settingsFile = join(runDir, "settings.json");
// Ports are chosen at "up" and kept for "status" and "down".
const saved = existsSync(settingsFile) ? (JSON.parse(readFileSync(settingsFile, "utf8")) as Record<string, number>) : {};
const natsPort = Number(process.env.KOINE_NATS_PORT ?? saved.natsPort ?? 4222);
const s3Port = Number(process.env.KOINE_S3_PORT ?? saved.s3Port ?? 9000);
const alluxioPort = Number(process.env.KOINE_ALLUXIO_PORT ?? saved.alluxioPort ?? 39999);
const adminPort = Number(process.env.KOINE_ADMIN_PORT ?? saved.adminPort ?? 19999);
const cachePort = Number(process.env.KOINE_CACHE_PORT ?? saved.cachePort ?? 29999);
const natsUrl = `nats://127.0.0.1:${natsPort}`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pids(): { name: string; pid: number }[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((f) => f.endsWith(".pid"))
    .map((f) => ({ name: f.slice(0, -4), pid: Number(readFileSync(join(runDir, f), "utf8")) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Starts one service as a detached process and waits for its ready line. */
async function launch(name: string, command: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<void> {
  const logPath = join(logDir, `${name}.log`);
  const log = openSync(logPath, "w");
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", log, log], detached: true });
  closeSync(log);
  child.unref();
  writeFileSync(join(runDir, `${name}.pid`), String(child.pid));
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (ready.test(readFileSync(logPath, "utf8"))) return echo(`  ${name} (pid ${child.pid})`);
    if (!alive(child.pid as number)) throw new Error(`${name} exited; see ${logPath}:\n${readFileSync(logPath, "utf8").slice(-2000)}`);
    await sleep(100);
  }
  throw new Error(`${name} did not become ready in 30 s; see ${logPath}`);
}

const tsService = (name: string) => ["--import", "tsx", join(root, "services", name, "src", "main.ts")];

async function up(nodes: number): Promise<void> {
  if (pids().some((p) => alive(p.pid))) throw new Error(`a cluster already runs in ${home}: run "scripts/cluster down" first`);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  writeFileSync(settingsFile, JSON.stringify({ natsPort, s3Port, alluxioPort, adminPort, cachePort }));
  const base = { KOINE_HOME: home, KOINE_NATS_URL: natsUrl };
  echo(`koine cluster in ${home}:`);
  const { findNatsServer } = await import("@koine/bus");
  await launch(
    "0-nats",
    findNatsServer(),
    ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", join(home, "nats")],
    {},
    /Server is ready/,
  );
  await launch("1-metadata", process.execPath, tsService("metadata"), base, /serving/);
  for (let i = 0; i < nodes; i++) {
    await launch(
      `2-cache-node${i}`,
      process.execPath,
      tsService("cache-node"),
      { ...base, KOINE_NODE_ID: `node${i}`, KOINE_CACHE_PORT: String(cachePort + i) },
      /serving data/,
    );
  }
  await launch("3-job-runner", process.execPath, tsService("job-runner"), base, /consuming/);
  await launch("4-s3-gateway", process.execPath, tsService("s3-gateway"), { ...base, KOINE_S3_PORT: String(s3Port) }, /s3-gateway:/);
  await launch(
    "5-alluxio-proxy",
    process.execPath,
    tsService("alluxio-proxy"),
    { ...base, KOINE_ALLUXIO_PORT: String(alluxioPort) },
    /alluxio-proxy:/,
  );
  await launch(
    "6-alluxio-admin",
    process.execPath,
    tsService("alluxio-admin"),
    { ...base, KOINE_ADMIN_PORT: String(adminPort) },
    /alluxio-admin:/,
  );
  echo(
    `S3 endpoint http://127.0.0.1:${s3Port} (access key ${process.env.KOINE_ACCESS_KEY ?? "koine"}, secret key ${process.env.KOINE_SECRET_KEY ?? "koinesecret"})`,
  );
}

async function status(): Promise<void> {
  const all = pids();
  if (all.length === 0) return echo(`no cluster in ${home}`);
  for (const p of all) echo(`${alive(p.pid) ? "up  " : "DOWN"} ${p.name.replace(/^\d-/, "")} (pid ${p.pid})`);
  const { connect, openKv } = await import("@koine/bus");
  const { MEMBERS_BUCKET, MEMBER_TTL_MS } = await import("@koine/protocol");
  const nc = await Promise.race([connect({ servers: natsUrl, name: "koine-cluster-status" }), sleep(3000).then(() => undefined)]).catch(
    () => undefined,
  );
  if (!nc) return echo("NATS is not reachable");
  const kv = await openKv(nc, MEMBERS_BUCKET, { ttlMs: MEMBER_TTL_MS });
  for await (const key of await kv.keys()) {
    const entry = await kv.get(key);
    if (entry?.operation === "PUT") echo(`member ${key}: ${entry.string()}`);
  }
  await nc.close();
}

async function down(): Promise<void> {
  for (const p of pids().reverse()) {
    if (alive(p.pid)) process.kill(p.pid, "SIGTERM");
    for (let waited = 0; alive(p.pid) && waited < 10_000; waited += 100) await sleep(100);
    if (alive(p.pid)) process.kill(p.pid, "SIGKILL");
    rmSync(join(runDir, `${p.name}.pid`), { force: true });
    echo(`stopped ${p.name.replace(/^\d-/, "")}`);
  }
}

const command = String(argv._[0] ?? "");
try {
  if (command === "up") await up(Number(argv.nodes ?? 2));
  else if (command === "status") await status();
  else if (command === "down") await down();
  else {
    echo("usage: scripts/cluster up [--nodes N] | status | down");
    process.exitCode = 2;
  }
} catch (err) {
  echo(`koine cluster: ${(err as Error).message}`);
  process.exitCode = 1;
}
