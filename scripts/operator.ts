// What the operator scripts (scripts/cluster, scripts/hosts) share: detached
// processes, each started with its output in a log file and its pid in a run
// directory so that a later "status" or "down" finds them (stopped newest
// first), and the cache nodes a cluster's membership bucket lists.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inHost, type SimHost, serviceCommand } from "@koine/launcher";
import { echo, sleep } from "zx";

const root = new URL("..", import.meta.url).pathname;

/** A process of the table: its name as launched, and its pid. */
export interface Entry {
  name: string;
  pid: number;
  file: string;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The processes an operator script started, in `runDir` (pids) and `logDir` (output). */
export class ProcessTable {
  constructor(
    readonly runDir: string,
    readonly logDir: string,
  ) {}

  /** Every process started and not yet stopped, in launch order. */
  list(): Entry[] {
    if (!existsSync(this.runDir)) return [];
    return readdirSync(this.runDir)
      .filter((f) => /^\d{3}-.+\.pid$/.test(f))
      .sort()
      .map((file) => ({ name: file.slice(4, -4), pid: Number(readFileSync(join(this.runDir, file), "utf8")), file }));
  }

  anyAlive(): boolean {
    return this.list().some((p) => alive(p.pid));
  }

  /** Starts `command` detached and waits (30 s at most) until its log matches `ready`. */
  async launch(name: string, command: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<void> {
    mkdirSync(this.runDir, { recursive: true });
    mkdirSync(this.logDir, { recursive: true });
    const logPath = join(this.logDir, `${name}.log`);
    const log = openSync(logPath, "w");
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", log, log], detached: true });
    closeSync(log);
    child.unref();
    const sequence = String(this.list().length).padStart(3, "0");
    writeFileSync(join(this.runDir, `${sequence}-${name}.pid`), String(child.pid));
    for (let waited = 0; waited < 30_000; waited += 100) {
      if (ready.test(readFileSync(logPath, "utf8"))) return echo(`  ${name} (pid ${child.pid})`);
      if (!alive(child.pid as number)) throw new Error(`${name} exited; see ${logPath}:\n${readFileSync(logPath, "utf8").slice(-2000)}`);
      await sleep(100);
    }
    throw new Error(`${name} did not become ready in 30 s; see ${logPath}`);
  }

  /** Starts koine service `service` (metadata, cache-node, ...) as `name`, inside `host` when given. */
  launchService(name: string, service: string, env: Record<string, string>, host?: SimHost): Promise<void> {
    const run = serviceCommand(service);
    const line = host ? inHost(host, run.command, run.args) : run;
    return this.launch(name, line.command, line.args, env, run.ready);
  }

  /** Stops every process, newest first: SIGTERM, then SIGKILL after 10 s. */
  async stopAll(): Promise<void> {
    for (const p of this.list().reverse()) {
      if (alive(p.pid)) process.kill(p.pid, "SIGTERM");
      for (let waited = 0; alive(p.pid) && waited < 10_000; waited += 100) await sleep(100);
      if (alive(p.pid)) process.kill(p.pid, "SIGKILL");
      rmSync(join(this.runDir, p.file), { force: true });
      echo(`stopped ${p.name}`);
    }
  }
}

/** Prints the entry of every cache node in the membership bucket of the cluster at `natsUrl` (as its admin service, by `clusterKey`). */
export async function echoMembers(natsUrl: string, clusterKey: Buffer): Promise<void> {
  const { connect, entriesOf, openKv } = await import("@koine/bus");
  const { natsCredentials } = await import("@koine/access");
  const { MEMBERS_BUCKET, MEMBER_TTL_MS } = await import("@koine/protocol");
  const auth = natsCredentials(clusterKey, "alluxio-admin");
  const nc = await Promise.race([connect({ servers: natsUrl, name: "koine-status", auth }), sleep(3000).then(() => undefined)]).catch(
    () => undefined,
  );
  if (!nc) return echo("NATS is not reachable");
  const kv = await openKv(nc, MEMBERS_BUCKET, { ttlMs: MEMBER_TTL_MS });
  for (const entry of await entriesOf(kv)) echo(`member ${entry.key}: ${entry.string()}`);
  await nc.close();
}
