#!/usr/bin/env -S pnpm exec tsx
// Operator commands against a running cluster, through the admin REST API
// (KOINE_ADMIN_URL, default http://127.0.0.1:19999) as an admin
// (KOINE_ACCESS_KEY / KOINE_SECRET_KEY, default koine / koinesecret), so the
// CLI does exactly what the API does.
//
//   scripts/koine user add <accessKey> [secretKey] [--group g ...] [--admin]   (a secret is generated when omitted)
//   scripts/koine user list | user remove <accessKey>
//   scripts/koine mount list | mount add <path> <ufs-uri> [--readonly] [--option k=v ...] | mount remove <path>
//   scripts/koine nodes
//   scripts/koine load submit --path <p> [--path ...] [--alias a] [--replicas n] [--batch-size n]
//                             [--filter regex] [--skip-if-exists] [--bandwidth bytes/s] [--watch]
//   scripts/koine load progress (--id i | --alias a) [--watch] | load list | load stop (--id i | --alias a)
//   scripts/koine free submit|progress|list|stop ...   (as load)
//   scripts/koine rebalance [--target ALL|<node>] [--replicas n] [--watch] | rebalance progress --id i | rebalance stop --id i
//   scripts/koine nodes remove <id>                    (decommission: blocks move away, then it leaves)
//   scripts/koine ttl|quota|priority add --path p (--time 1h | --size 10GiB | --priority HIGH) | list | remove --path p
//   scripts/koine metadata status      (each metadata shard's journal, newest snapshot and replicas: which leads, how far each is behind)
//   scripts/koine nats-config          (the nats-server configuration with every service's user, from the cluster key)
//   scripts/koine status               (services, cache nodes, metadata, running jobs; exit 1, naming what, when degraded)
//   scripts/koine top [--interval s]   (a live view: nodes, hit ratio, request rates and latency, running jobs; q quits)
//   scripts/koine cache-filter add (--pattern re | --default) --type immutable|maxAge|skipCache [--time 10s] | list | remove (--pattern re | --default)
import { join, resolve } from "node:path";
import { loadClusterKey, natsUsers } from "@koine/access";
import { natsServerConfig } from "@koine/bus";
import { age, jobProgress, mib, type Overview, type Rates, ratesBetween } from "@koine/overview";
import { KoineError } from "@koine/protocol";
import { Presets, SingleBar } from "cli-progress";
import { argv, echo, sleep } from "zx";

const USAGE = `usage: scripts/koine user add <accessKey> [secretKey] [--group g ...] [--admin] | user list | user remove <accessKey>
       scripts/koine mount list | mount add <path> <ufs-uri> [--readonly] [--option k=v ...] | mount remove <path>
       scripts/koine nodes
       scripts/koine load submit --path <p> [--alias a] [--replicas n] [--batch-size n] [--filter re] [--skip-if-exists] [--watch]
       scripts/koine load progress (--id i | --alias a) [--watch] | load list | load stop (--id i | --alias a)
       scripts/koine free submit|progress|list|stop ...   (as load)
       scripts/koine rebalance [--target ALL|<node>] [--watch] | rebalance progress --id i | rebalance stop --id i
       scripts/koine nodes [remove <id>]
       scripts/koine ttl|quota|priority add --path p (--time 1h | --size 10GiB | --priority HIGH) | list | remove --path p
       scripts/koine cache-filter add (--pattern re | --default) --type immutable|maxAge|skipCache [--time 10s] | list | remove ...
       scripts/koine metadata status
       scripts/koine status | top [--interval s]
       scripts/koine nats-config`;
const [area, action, ...rest] = argv._.map(String);
const adminUrl = process.env.KOINE_ADMIN_URL ?? "http://127.0.0.1:19999";
const credentials = `${process.env.KOINE_ACCESS_KEY ?? "koine"}:${process.env.KOINE_SECRET_KEY ?? "koinesecret"}`;

class UsageError extends Error {}
/** The cluster is degraded: what `status` says is wrong, and its exit is 1. */
class Degraded extends Error {}

/** Flags given once or more, as a list. */
const many = (name: string): string[] => {
  const value = argv[name];
  return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
};

/** One admin API call; a 409 of a job submit names the earlier job, which is resumed: said, and taken as the answer. */
async function admin(method: string, path: string, body?: unknown, options: { resumes?: boolean } = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(credentials).toString("base64")}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status === 409 && options.resumes) echo(`${json.status}`);
  else if (res.status !== 200) throw new Error(`${res.status}: ${json.status}`);
  return json;
}

async function users(): Promise<void> {
  const [accessKey, secret] = rest;
  if (action === "list") {
    for (const u of (await admin("GET", "/api/v1/users")).results as {
      accessKey: string;
      groups: string[];
      admin: boolean;
      createdMs: number;
    }[]) {
      echo(`${u.accessKey}\t${u.admin ? "admin" : "user"}\t${u.groups.join(",") || "-"}\tcreated ${new Date(u.createdMs).toISOString()}`);
    }
  } else if (action === "add" && accessKey) {
    const added = await admin("POST", "/api/v1/users", {
      accessKey,
      ...(secret ? { secretKey: secret } : {}),
      groups: many("group"),
      admin: argv.admin === true,
    });
    echo(`user ${accessKey} added${added.secretKey ? `; secret key ${added.secretKey}` : ""}`);
  } else if (action === "remove" && accessKey) {
    await admin("DELETE", "/api/v1/users", { accessKey });
    echo(`user ${accessKey} removed`);
  } else throw new UsageError();
}

/**
 * Prints what a nats-server of this cluster loads: koine's settings, each
 * service's user (KOINE_CLUSTER_KEY, or the key in KOINE_HOME), and TLS with
 * KOINE_TLS_CERT / KOINE_TLS_KEY when set (paths as the server will see them).
 */
async function natsConfig(): Promise<void> {
  const key = loadClusterKey(process.env.KOINE_CLUSTER_KEY, join(resolve(process.env.KOINE_HOME ?? ".koine"), "cluster.key"));
  const { KOINE_TLS_CERT: certFile, KOINE_TLS_KEY: keyFile } = process.env;
  process.stdout.write(natsServerConfig(natsUsers(key), certFile && keyFile ? { certFile, keyFile } : undefined));
}

async function mounts(): Promise<void> {
  const [path, ufs] = rest;
  if (action === "list") {
    for (const m of (await admin("GET", "/api/v1/mount")).results as Record<string, unknown>[]) {
      echo(`${m.path}\t${m.ufs}${m.readOnly ? "\tread-only" : ""}`);
    }
  } else if (action === "add" && path && ufs) {
    const options = Object.fromEntries(many("option").map((o) => [o.slice(0, o.indexOf("=")), o.slice(o.indexOf("=") + 1)]));
    await admin("POST", "/api/v1/mount", { path, ufs, readOnly: argv.readonly === true, options });
    echo(`mounted ${ufs} at ${path}`);
  } else if (action === "remove" && path) {
    await admin("DELETE", "/api/v1/mount", { path });
    echo(`unmounted ${path}`);
  } else throw new UsageError();
}

async function nodes(): Promise<void> {
  if (action === "remove" && rest[0]) {
    const job = await admin("DELETE", "/api/v1/nodes", { id: rest[0] });
    echo(`decommissioning ${rest[0]}: rebalance job ${job.id}`);
    if (argv.watch) await showProgress("rebalance", `id=${job.id}`, true);
    return;
  }
  if (action !== undefined) throw new UsageError();
  for (const n of (await admin("GET", "/api/v1/nodes")).results as Record<string, number | string>[]) {
    echo(`${n.id}\t${n.address}\t${n.state}\tused ${mib(Number(n.usedBytes))} of ${mib(Number(n.capacityBytes))}`);
  }
}

/** One line of progress, for listings. */
function progressLine(job: Record<string, unknown>): string {
  const { share, detail } = jobProgress(job);
  return `${(share * 100).toFixed(0)}%  ${detail}`;
}

async function showProgress(kind: string, query: string, watch: boolean): Promise<void> {
  if (!watch) return echo(JSON.stringify(await admin("GET", `/api/v1/${kind}?${query}`), null, 2));
  // A live bar on a terminal; elsewhere (a pipe, a log) a line at each update and the last one at the end.
  const bar = new SingleBar(
    {
      format: "[{bar}] {percentage}%  {detail}",
      barsize: 30,
      barCompleteChar: "#",
      barIncompleteChar: ".",
      stream: process.stdout,
      noTTYOutput: true,
      notTTYSchedule: 2_000,
      hideCursor: true,
    },
    Presets.legacy,
  );
  bar.start(1000, 0, { detail: "" });
  for (;;) {
    const job = await admin("GET", `/api/v1/${kind}?${query}`);
    const { share, detail } = jobProgress(job);
    bar.update(Math.round(share * 1000), { detail });
    if (job.state !== "RUNNING") {
      bar.stop();
      for (const f of (job.failures as { path: string; message: string }[] | undefined) ?? []) echo(`  failed ${f.path}: ${f.message}`);
      return;
    }
    await sleep(500);
  }
}

/** load and free: submit, progress, list, stop. */
const jobs = (kind: "load" | "free") => async (): Promise<void> => {
  const name = argv.id ? `id=${encodeURIComponent(String(argv.id))}` : argv.alias ? `alias=${encodeURIComponent(String(argv.alias))}` : "";
  if (action === "submit") {
    const paths = many("path");
    if (paths.length === 0) throw new UsageError();
    const options = {
      ...(argv.replicas ? { replicas: Number(argv.replicas) } : {}),
      ...(argv["batch-size"] ? { batchSize: Number(argv["batch-size"]) } : {}),
      ...(argv.filter ? { fileFilterRegex: String(argv.filter) } : {}),
      ...(argv["skip-if-exists"] ? { skipIfExists: true } : {}),
      ...(argv.bandwidth ? { bandwidth: Number(argv.bandwidth) } : {}),
    };
    const job = await admin(
      "POST",
      `/api/v1/${kind}`,
      { paths, ...(argv.alias ? { alias: String(argv.alias) } : {}), options },
      { resumes: true },
    );
    echo(`${kind} job ${job.id} (alias ${job.alias})`);
    if (argv.watch) await showProgress(kind, `id=${job.id}`, true);
  } else if (action === "progress" && name) {
    await showProgress(kind, name, argv.watch === true);
  } else if (action === "list") {
    for (const job of (await admin("GET", `/api/v1/${kind}`)).results as Record<string, unknown>[]) {
      echo(`${job.id}\t${job.alias}\t${progressLine(job)}`);
    }
  } else if (action === "stop" && name) {
    const query = new URLSearchParams(name);
    await admin("DELETE", `/api/v1/${kind}`, Object.fromEntries(query));
    echo("stopped");
  } else throw new UsageError();
};

async function rebalance(): Promise<void> {
  if (action === "progress" && argv.id) return showProgress("rebalance", `id=${encodeURIComponent(String(argv.id))}`, argv.watch === true);
  if (action === "stop" && argv.id) {
    await admin("DELETE", "/api/v1/rebalance", { id: String(argv.id) });
    return echo("stopped");
  }
  if (action !== undefined) throw new UsageError();
  const options = argv.replicas ? { replicas: Number(argv.replicas) } : {};
  const job = await admin("POST", "/api/v1/rebalance", { target: String(argv.target ?? "ALL"), options }, { resumes: true });
  echo(`rebalance job ${job.id}`);
  if (argv.watch) await showProgress("rebalance", `id=${job.id}`, true);
}

/** ttl, quota, priority, cache-filter: add, list, remove. */
const policy = (name: string) => async (): Promise<void> => {
  const target = argv.default ? { default: true } : argv.pattern ? { pattern: String(argv.pattern) } : { path: String(argv.path ?? "") };
  if (action === "list") {
    for (const p of (await admin("GET", `/api/v1/${name}`)).results as Record<string, unknown>[]) {
      const { kind: _kind, createdMs: _createdMs, ...rule } = p;
      echo(JSON.stringify(rule));
    }
  } else if (action === "add") {
    const body = {
      ...target,
      ...(argv.time ? { time: String(argv.time) } : {}),
      ...(argv.size ? { size: String(argv.size) } : {}),
      ...(argv.priority ? { priority: String(argv.priority) } : {}),
      ...(argv.type ? { type: String(argv.type) } : {}),
    };
    echo(JSON.stringify(await admin("POST", `/api/v1/${name}`, body)));
  } else if (action === "remove") {
    await admin("DELETE", `/api/v1/${name}`, target);
    echo("removed");
  } else throw new UsageError();
};

/** Metadata's shards: each one's journal and newest snapshot, then one line a replica (the leader first). */
async function metadata(): Promise<void> {
  if (action !== "status") throw new UsageError();
  const { shards } = (await admin("GET", "/api/v1/metadata")) as { shards: Record<string, unknown>[] };
  for (const status of shards) {
    if (shards.length > 1) echo(`shard ${status.shard as number} of ${shards.length}`);
    const journal = status.journal as { stream: string; firstSeq: number; lastSeq: number; lastStored?: string };
    echo(`journal ${journal.stream}: ${journal.firstSeq}..${journal.lastSeq}${journal.lastStored ? ` (last ${journal.lastStored})` : ""}`);
    const snapshot = status.snapshot as { seq: number; bytes: number; taken: string; ageSeconds: number } | undefined;
    echo(
      snapshot
        ? `snapshot at ${snapshot.seq}: ${snapshot.bytes} bytes, ${snapshot.ageSeconds.toFixed(0)} s old (${snapshot.taken})`
        : "no snapshot yet (the journal holds everything)",
    );
    const replicas = status.replicas as {
      replica: string;
      leads: boolean;
      appliedSeq: number;
      behindEntries: number;
      behindSeconds: number;
    }[];
    if (replicas.length === 0) echo("no metadata replica heard from");
    for (const r of replicas) {
      echo(
        `${r.replica.padEnd(24)} ${(r.leads ? "leads" : "follows").padEnd(8)} applied ${r.appliedSeq}  behind ${r.behindEntries} entries, ${r.behindSeconds.toFixed(1)} s`,
      );
    }
  }
}

/** What is wrong with the cluster: services gone silent, no live cache node, a metadata shard without a leader. */
function problemsOf(overview: Overview, shards: { shard: number; replicas: { leads: boolean }[] }[]): string[] {
  const problems = overview.services
    .filter((s) => s.state === "DOWN")
    .map((s) => `${s.role} ${s.id} is down (not heard from for ${age(s.heardMsAgo)}, on ${s.host})`);
  if (!overview.nodes.some((n) => n.state === "LIVE")) problems.push("no cache node is live");
  for (const shard of shards) if (!shard.replicas.some((r) => r.leads)) problems.push(`metadata shard ${shard.shard} has no leader`);
  return problems;
}

/** One-shot summary; exit 1 naming what is wrong when the cluster is degraded. */
async function status(): Promise<void> {
  if (action !== undefined) throw new UsageError();
  const overview = (await admin("GET", "/api/v1/overview")) as unknown as Overview;
  const { shards } = (await admin("GET", "/api/v1/metadata")) as unknown as { shards: { shard: number; replicas: { leads: boolean }[] }[] };
  echo(
    `services (${overview.services.filter((s) => s.state === "UP").length} up, ${overview.services.filter((s) => s.state === "DOWN").length} down)`,
  );
  for (const s of overview.services) {
    echo(`  ${s.role.padEnd(14)} ${s.id.padEnd(28)} ${s.state.padEnd(5)} ${s.url ?? s.opsUrl ?? "-"}  up ${age(Date.now() - s.startedMs)}`);
  }
  echo("cache nodes");
  for (const n of overview.nodes)
    echo(`  ${n.id.padEnd(14)} ${n.state.padEnd(16)} ${n.url}  used ${mib(n.usedBytes)} of ${mib(n.capacityBytes)}`);
  echo(`metadata: ${shards.map((s) => `shard ${s.shard} ${s.replicas.some((r) => r.leads) ? "led" : "NO LEADER"}`).join(", ")}`);
  for (const job of overview.jobs) echo(`job ${job.kind} ${job.alias}: ${progressLine(job)}`);
  const problems = problemsOf(overview, shards);
  if (problems.length > 0) throw new Degraded(["degraded:", ...problems.map((p) => `  ${p}`)].join("\n"));
  echo("healthy");
}

/** A frame of `top`: the overview and the rates since the one before. */
function topFrame(overview: Overview, rates: Rates | undefined, intervalS: number): string {
  const lines = [`koine top  ${new Date(overview.takenMs).toISOString()}  every ${intervalS} s  (q quits)`, ""];
  const up = overview.services.filter((s) => s.state === "UP").length;
  const down = overview.services.filter((s) => s.state === "DOWN");
  lines.push(`services  ${up} up, ${down.length} down${down.map((s) => `  DOWN: ${s.role} ${s.id}`).join("")}`);
  const pct = (r: number | undefined) => (r === undefined ? "   -" : `${(r * 100).toFixed(0).padStart(3)}%`);
  const rate = (bytes: number | undefined) => `${mib(bytes ?? 0)}/s`;
  lines.push("", "NODE            STATE  USED / CAPACITY           HIT   MEMORY        DISK          UNDER-STORE");
  for (const n of overview.nodes) {
    const r = rates?.nodes[n.id];
    lines.push(
      `${n.id.padEnd(15)} ${n.state.slice(0, 6).padEnd(6)} ${`${mib(n.usedBytes)} / ${mib(n.capacityBytes)}`.padEnd(25)} ${pct(r?.hitRatio)}  ${rate(r?.memoryBytesPerSecond).padEnd(13)} ${rate(r?.diskBytesPerSecond).padEnd(13)} ${rate(r?.ufsBytesPerSecond)}`,
    );
  }
  lines.push(
    `cache hit ratio ${pct(rates?.cache.hitRatio)}`,
    "",
    "DIALECT         REQ/S     P50 MS    P99 MS    5XX/S   IN            OUT",
  );
  const ms = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(1));
  for (const name of Object.keys(overview.dialects).sort()) {
    const d = rates?.dialects[name];
    lines.push(
      `${name.padEnd(15)} ${(d?.requestsPerSecond ?? 0).toFixed(1).padStart(7)}   ${ms(d?.p50Ms).padStart(7)}   ${ms(d?.p99Ms).padStart(7)}   ${(d?.serverErrorsPerSecond ?? 0).toFixed(1).padStart(5)}   ${rate(d?.receivedBytesPerSecond).padEnd(13)} ${rate(d?.sentBytesPerSecond)}`,
    );
  }
  lines.push("", `JOBS (${overview.jobs.length} running)`);
  for (const job of overview.jobs) {
    const { share, detail } = jobProgress(job);
    const filled = Math.round(share * 30);
    lines.push(
      `${String(job.kind).padEnd(9)} ${String(job.alias).padEnd(20)} [${"#".repeat(filled)}${".".repeat(30 - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${detail}`,
    );
  }
  return lines.join("\n");
}

/** Redraws the overview in place every interval until q or Ctrl-C. */
async function top(): Promise<void> {
  if (action !== undefined) throw new UsageError();
  const intervalS = Number(argv.interval ?? 1);
  if (!(intervalS > 0)) throw new UsageError();
  let quit = false;
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.on("data", (key: Buffer) => {
      if (key[0] === 0x71 || key[0] === 0x03) quit = true;
    });
  }
  process.on("SIGINT", () => {
    quit = true;
  });
  let before: Overview | undefined;
  try {
    while (!quit) {
      const overview = (await admin("GET", "/api/v1/overview")) as unknown as Overview;
      const rates = before ? ratesBetween(before, overview) : undefined;
      // Home, clear to the end, then the frame: no flicker of a whole clear.
      process.stdout.write(`\x1b[H\x1b[J${topFrame(overview, rates, intervalS)}\n`);
      before = overview;
      for (let waited = 0; waited < intervalS * 1000 && !quit; waited += 100) await sleep(100);
    }
  } finally {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdin.pause();
  }
}

const areas: Record<string, () => Promise<void>> = {
  user: users,
  "nats-config": natsConfig,
  metadata,
  mount: mounts,
  nodes,
  load: jobs("load"),
  free: jobs("free"),
  rebalance,
  ttl: policy("ttl"),
  quota: policy("quota"),
  priority: policy("priority"),
  "cache-filter": policy("cache-filter"),
  status,
  top,
};

async function main(): Promise<number> {
  const run = areas[area ?? ""];
  try {
    if (!run) throw new UsageError();
    await run();
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      echo(USAGE);
      return 2;
    }
    if (err instanceof Degraded) {
      echo(err.message);
      return 1;
    }
    console.error(`koine: ${err instanceof KoineError || err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

process.exitCode = await main();
