import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { findNatsServer, natsServerArgs } from "@koine/bus";

/**
 * Simulated hosts on one Linux machine: each a network namespace with its
 * own IPv4 address on a bridge, so that services on different "hosts" talk
 * over a network that can be cut. Needs root (or CAP_NET_ADMIN) and
 * iproute2. Several networks may exist side by side (tests, an operator's
 * layout), each with its own name and subnet.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A bridge and the hosts on it: `name` (1-4 letters) prefixes its namespaces and links; `subnet` is "a.b.c" (a /24). */
export interface SimNetwork {
  name: string;
  subnet: string;
}

export interface SimHost {
  name: string;
  /** The host's address on the bridge. */
  ip: string;
  namespace: string;
  /** The host's cable: the bridge end of its veth pair. */
  link: string;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function bridgeOf(network: SimNetwork): string {
  if (!/^[a-z]{1,4}$/.test(network.name)) throw new Error(`A network name is 1-4 lower-case letters, not "${network.name}"`);
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(network.subnet)) throw new Error(`A subnet is "a.b.c", not "${network.subnet}"`);
  return `${network.name}-br`;
}

/** Whether this process may create network namespaces (and why not). */
export function canSimulateHosts(): { ok: true } | { ok: false; why: string } {
  try {
    execFileSync("ip", ["netns", "add", "koine-probe"], { stdio: "pipe" });
    execFileSync("ip", ["netns", "del", "koine-probe"], { stdio: "pipe" });
    return { ok: true };
  } catch (err) {
    return { ok: false, why: `cannot create network namespaces here: ${(err as Error).message.split("\n")[0]}` };
  }
}

/** Creates the bridge the hosts hang off (the machine itself is `<subnet>.1`), after removing what an earlier run left. */
export function createNetwork(network: SimNetwork): void {
  const bridge = bridgeOf(network);
  removeNetwork(network);
  ip("link", "add", bridge, "type", "bridge");
  ip("addr", "add", `${network.subnet}.1/24`, "dev", bridge);
  ip("link", "set", bridge, "up");
}

/** Host number `index` (1..200) called `name` (1-8 lower-case letters or digits) of a network: its names and address. */
export function hostOf(network: SimNetwork, name: string, index: number): SimHost {
  if (!/^[a-z0-9]{1,8}$/.test(name) || name === "br") {
    throw new Error(`A host name is 1-8 lower-case letters or digits (not "br", the bridge), not "${name}"`);
  }
  if (!Number.isInteger(index) || index < 1 || index > 200) throw new Error(`A host number is 1..200, not ${index}`);
  return { name, ip: `${network.subnet}.${10 + index}`, namespace: `${network.name}-${name}`, link: `${network.name}-${name}` };
}

/** Adds host number `index` called `name` to a network (see {@link hostOf}). */
export function addHost(network: SimNetwork, name: string, index: number): SimHost {
  const host = hostOf(network, name, index);
  const inside = `${network.name}p-${name}`;
  ip("netns", "add", host.namespace);
  ip("link", "add", host.link, "type", "veth", "peer", "name", inside);
  ip("link", "set", inside, "netns", host.namespace);
  ip("link", "set", host.link, "master", bridgeOf(network), "up");
  ip("-n", host.namespace, "addr", "add", `${host.ip}/24`, "dev", inside);
  ip("-n", host.namespace, "link", "set", inside, "up");
  ip("-n", host.namespace, "link", "set", "lo", "up");
  return host;
}

/** Unplugs (false) or plugs back (true) a host's cable. */
export function setLink(host: SimHost, up: boolean): void {
  ip("link", "set", host.link, up ? "up" : "down");
}

/** Whether a host's cable is plugged in. */
export function linkIsUp(host: SimHost): boolean {
  try {
    return /<[^>]*\bUP\b/.test(execFileSync("ip", ["-o", "link", "show", host.link], { encoding: "utf8" }));
  } catch {
    return false;
  }
}

/** Removes every host of a network and its bridge (processes in them must be gone). */
export function removeNetwork(network: SimNetwork): void {
  const prefix = `${network.name}-`;
  let names: string[] = [];
  try {
    names = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.split(" ")[0] ?? "")
      .filter((n) => n.startsWith(prefix));
  } catch {
    // no namespaces
  }
  for (const ns of names) {
    try {
      ip("netns", "del", ns);
    } catch {
      // already gone
    }
  }
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n.startsWith(prefix));
  for (const link of links) {
    try {
      ip("link", "del", link);
    } catch {
      // already gone
    }
  }
}

/** The command line that runs `command` inside a host's namespace. */
export function inHost(host: SimHost, command: string, args: string[]): { command: string; args: string[] } {
  return { command: "ip", args: ["netns", "exec", host.namespace, command, ...args] };
}

/** How a koine service (metadata, cache-node, ...) is started, and the line it prints once ready. */
export function serviceCommand(service: string): { command: string; args: string[]; ready: RegExp } {
  return {
    command: process.execPath,
    args: ["--import", "tsx", `services/${service}/src/main.ts`],
    ready: new RegExp(`koine ${service}[ :]`),
  };
}

/** The arguments of one server of a NATS cluster on a host (client port 4222, routes 6222, monitoring 8222); alone without peers. */
export function natsOnHostArgs(host: SimHost, name: string, storeDir: string, peers: SimHost[], users?: readonly unknown[]): string[] {
  const routes = peers.filter((p) => p.ip !== host.ip).map((p) => `nats://${p.ip}:6222`);
  const cluster = routes.length > 0 ? { cluster: { name: "koine", serverName: name, port: 6222, routes } } : {};
  return natsServerArgs({ host: "0.0.0.0", port: 4222, monitorPort: 8222, storeDir, ...cluster, ...(users ? { users } : {}) });
}

/** A JetStream group (stream or consumer) as a server's `/jsz` shows it. */
interface Group {
  name: string;
  cluster?: { leader?: string; replicas?: { name: string; active: number }[] };
}

/** A server's `/jsz`: the meta group and, as asked, each stream (with its consumers). */
interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: { stream_detail?: (Group & { consumer_detail?: Group[] })[] }[];
}

/** The server at a monitoring endpoint: its name and its `/jsz?<query>` (none: it does not answer). */
async function jszOf(monitorUrl: string, query: string): Promise<{ server: string; jsz: Jsz } | undefined> {
  const get = (path: string) => fetch(`${monitorUrl}${path}`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  const [varz, jsz] = await Promise.all([get("/varz"), get(`/jsz?${query}`)]);
  if (!varz?.ok || !jsz?.ok) return undefined;
  return { server: ((await varz.json()) as { server_name: string }).server_name, jsz: (await jsz.json()) as Jsz };
}

/**
 * Whether a NATS cluster's JetStream has settled, asked of the monitoring
 * endpoint (`http://host:8222`) of every server that is up: they all
 * answer, all name the same metadata leader and the same leader for every
 * stream and replicated (durable) consumer, and each such leader has heard
 * within 5 s from every replica on those servers. After a partition heals
 * a server may for a while still think itself the leader of a stream
 * another leads, or take part in no group yet: taking a second server down
 * then leaves groups without quorum, so an operator (and the host test)
 * waits for this between failures. ("current" is not asked: nats-server
 * 2.9 keeps saying no for a replica of a stream nothing was written to
 * since it came back.) Says why not, or "" when settled.
 */
export async function jetStreamUnsettled(monitorUrls: string[]): Promise<string> {
  const views = new Map<string, Jsz>();
  for (const url of monitorUrls) {
    const view = await jszOf(url, "streams=true&consumers=true");
    if (!view) return `${url} does not answer`;
    views.set(view.server, view.jsz);
  }
  if ([...views.values()].every((v) => v.meta_cluster === undefined)) return ""; // one server, no cluster
  const metaLeaders = new Set([...views.values()].map((v) => v.meta_cluster?.leader));
  if (metaLeaders.size !== 1 || metaLeaders.has(undefined)) return `metadata leaders: ${[...metaLeaders].join(", ")}`;
  const leaders = new Map<string, Set<string | undefined>>();
  const behind: string[] = [];
  const check = (group: string, server: string, g: Group) => {
    if (!leaders.has(group)) leaders.set(group, new Set());
    leaders.get(group)?.add(g.cluster?.leader);
    if (g.cluster?.leader !== server) return;
    for (const r of g.cluster.replicas ?? []) if (views.has(r.name) && r.active > 5e9) behind.push(`${group}: ${r.name} silent`);
  };
  for (const [server, view] of views) {
    for (const stream of (view.account_details ?? []).flatMap((a) => a.stream_detail ?? [])) {
      check(stream.name, server, stream);
      for (const consumer of stream.consumer_detail ?? []) {
        if (consumer.cluster?.replicas?.length) check(`${stream.name} > ${consumer.name}`, server, consumer);
      }
    }
  }
  for (const [group, named] of leaders) if (named.size !== 1 || named.has(undefined)) return `${group} leaders: ${[...named].join(", ")}`;
  return behind[0] ?? "";
}

/**
 * Which NATS server leads JetStream's meta group and each stream, as the
 * server at `monitorUrl` sees it ("stream@server ..."), for a test's log.
 */
export async function jetStreamLeaders(monitorUrl: string): Promise<string> {
  const view = await jszOf(monitorUrl, "streams=true");
  if (!view) return `${monitorUrl} does not answer`;
  const streams = (view.jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []).map((s) => `${s.name}@${s.cluster?.leader}`);
  return `${view.server} sees: meta group@${view.jsz.meta_cluster?.leader} ${streams.sort().join(" ")}`;
}

/**
 * Waits until JetStream has settled on `hosts` ({@link jetStreamUnsettled}),
 * one failure at a time as an operator would. Debian's nats-server 2.9.10
 * sometimes does not get there by itself after a partition (two servers
 * each think they lead a stream, a consumer elects no leader); when it has
 * not in 30 s, `heal` runs (restarting the server that was cut off heals
 * it, docs/deployment.md) and it waits 90 s more. Says what it did.
 */
export async function untilJetStreamSettled(hosts: SimHost[], heal: () => Promise<void>): Promise<string> {
  const urls = hosts.map((h) => `http://${h.ip}:8222`);
  const settledWithin = async (ms: number) => {
    let why = "";
    for (const until = Date.now() + ms; Date.now() < until; await sleep(250)) {
      why = await jetStreamUnsettled(urls);
      if (why === "") return "";
    }
    return why;
  };
  const first = await settledWithin(30_000);
  if (first === "") return "settled";
  await heal();
  const second = await settledWithin(90_000);
  if (second !== "") throw new Error(`JetStream did not settle (${first}), nor after healing: ${second}`);
  return `not settled in 30 s (${first}): healed`;
}

/** A process started on a simulated host. */
export interface HostProcess {
  host: SimHost;
  name: string;
  child: ChildProcess;
  /** Everything it printed. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/** Starts `command` inside `host`'s namespace and waits until its output matches `ready`. */
export function startOn(
  host: SimHost,
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<HostProcess> {
  const line = inHost(host, command, args);
  const child = spawn(line.command, line.args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const collect = (c: Buffer) => {
    out += c.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const proc: HostProcess = {
    host,
    name,
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} on ${host.name} did not start in 60 s:\n${out.slice(-2000)}`));
    }, 60_000);
    const check = () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        child.stdout?.off("data", check);
        child.stderr?.off("data", check);
        resolve(proc);
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} on ${host.name} exited with ${code}:\n${out.slice(-2000)}`));
    });
  });
}

/** Starts a koine service (metadata, cache-node, ...) on a host. */
export function startService(host: SimHost, service: string, env: Record<string, string>): Promise<HostProcess> {
  const { command, args, ready } = serviceCommand(service);
  return startOn(host, service, command, args, env, ready);
}

/** Starts one server of a NATS cluster on a host (see {@link natsOnHostArgs}). */
export function startNatsOn(host: SimHost, name: string, storeDir: string, peers: SimHost[]): Promise<HostProcess> {
  return startOn(host, name, findNatsServer(), natsOnHostArgs(host, name, storeDir, peers), {}, /Server is ready/);
}
