#!/usr/bin/env -S pnpm exec tsx
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
// A multi-process local cluster, started the way an operator would start
// koine on several hosts: one process per service, found through NATS.
//
//   scripts/cluster up [--nodes N]   nats-server, metadata, N cache nodes, job-runner, s3-gateway, alluxio-proxy, alluxio-admin
//   scripts/cluster status           which processes run, which cache nodes are members
//   scripts/cluster down             stops them all (SIGTERM, newest first)
//
// Settings: KOINE_HOME (default .koine-cluster), KOINE_NATS_PORT (4222),
// KOINE_S3_PORT (9000), KOINE_ALLUXIO_PORT (39999), KOINE_ADMIN_PORT (19999), KOINE_CACHE_PORT (29999, +1 per node),
// KOINE_METADATA_PORT (19998), KOINE_JOB_RUNNER_PORT (19997): health and metrics of metadata and the job runner.
import { loadClusterKey } from "@koine/access";
import { argv, echo } from "zx";
import { alive, echoMembers, ProcessTable } from "./operator.ts";

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
const metadataPort = Number(process.env.KOINE_METADATA_PORT ?? saved.metadataPort ?? 19998);
const jobRunnerPort = Number(process.env.KOINE_JOB_RUNNER_PORT ?? saved.jobRunnerPort ?? 19997);
const natsUrl = `nats://127.0.0.1:${natsPort}`;

const processes = new ProcessTable(runDir, logDir);

/** The key the cluster's services share (made in KOINE_HOME at the first start). */
const clusterKey = () => loadClusterKey(process.env.KOINE_CLUSTER_KEY, join(home, "cluster.key"));

async function up(nodes: number): Promise<void> {
  if (processes.anyAlive()) throw new Error(`a cluster already runs in ${home}: run "scripts/cluster down" first`);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  writeFileSync(settingsFile, JSON.stringify({ natsPort, s3Port, alluxioPort, adminPort, cachePort, metadataPort, jobRunnerPort }));
  const base = { KOINE_HOME: home, KOINE_NATS_URL: natsUrl };
  echo(`koine cluster in ${home}:`);
  const { findNatsServer, natsServerArgs } = await import("@koine/bus");
  const { natsUsers } = await import("@koine/access");
  const natsArgs = natsServerArgs({ port: natsPort, storeDir: join(home, "nats"), users: natsUsers(clusterKey()) });
  await processes.launch("nats", findNatsServer(), natsArgs, {}, /Server is ready/);
  await processes.launchService("metadata", "metadata", { ...base, KOINE_METADATA_PORT: String(metadataPort) });
  for (let i = 0; i < nodes; i++) {
    await processes.launchService(`cache-node${i}`, "cache-node", {
      ...base,
      KOINE_NODE_ID: `node${i}`,
      KOINE_CACHE_PORT: String(cachePort + i),
    });
  }
  await processes.launchService("job-runner", "job-runner", { ...base, KOINE_JOB_RUNNER_PORT: String(jobRunnerPort) });
  await processes.launchService("s3-gateway", "s3-gateway", { ...base, KOINE_S3_PORT: String(s3Port) });
  await processes.launchService("alluxio-proxy", "alluxio-proxy", { ...base, KOINE_ALLUXIO_PORT: String(alluxioPort) });
  await processes.launchService("alluxio-admin", "alluxio-admin", { ...base, KOINE_ADMIN_PORT: String(adminPort) });
  const { describeCredentials, parseUsers } = await import("@koine/namespace");
  echo(`S3 endpoint http://127.0.0.1:${s3Port} (${describeCredentials(parseUsers())})`);
}

async function status(): Promise<void> {
  const all = processes.list();
  if (all.length === 0) return echo(`no cluster in ${home}`);
  for (const p of all) echo(`${alive(p.pid) ? "up  " : "DOWN"} ${p.name} (pid ${p.pid})`);
  await echoMembers(natsUrl, clusterKey());
}

const command = String(argv._[0] ?? "");
try {
  if (command === "up") await up(Number(argv.nodes ?? 2));
  else if (command === "status") await status();
  else if (command === "down") await processes.stopAll();
  else {
    echo("usage: scripts/cluster up [--nodes N] | status | down");
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`koine cluster: ${(err as Error).message}`);
  process.exitCode = 1;
}
