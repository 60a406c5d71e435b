import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { findNatsServer } from "@koine/bus";

/**
 * Simulated hosts on one Linux machine: each a network namespace with its
 * own IPv4 address on a bridge (10.77.0.0/24; the machine itself is
 * 10.77.0.1), so that services on different "hosts" talk over a network
 * that can be cut. Needs root (or CAP_NET_ADMIN) and iproute2.
 */

const BRIDGE = "koinebr0";
const SUBNET = "10.77.0";
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

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

/** Creates the bridge the hosts hang off (the machine itself is 10.77.0.1). */
export function createNetwork(): void {
  removeNetwork();
  ip("link", "add", BRIDGE, "type", "bridge");
  ip("addr", "add", `${SUBNET}.1/24`, "dev", BRIDGE);
  ip("link", "set", BRIDGE, "up");
}

/** Adds host number `index` (1..200) called `name` (at most 8 characters). */
export function addHost(name: string, index: number): SimHost {
  if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`A host name is 1-8 lower-case letters or digits, not "${name}"`);
  const host: SimHost = { name, ip: `${SUBNET}.${10 + index}`, namespace: `koine-${name}`, link: `kv-${name}` };
  const inside = `kh-${name}`;
  ip("netns", "add", host.namespace);
  ip("link", "add", host.link, "type", "veth", "peer", "name", inside);
  ip("link", "set", inside, "netns", host.namespace);
  ip("link", "set", host.link, "master", BRIDGE, "up");
  ip("-n", host.namespace, "addr", "add", `${host.ip}/24`, "dev", inside);
  ip("-n", host.namespace, "link", "set", inside, "up");
  ip("-n", host.namespace, "link", "set", "lo", "up");
  return host;
}

/** Unplugs (false) or plugs back (true) a host's cable. */
export function setLink(host: SimHost, up: boolean): void {
  ip("link", "set", host.link, up ? "up" : "down");
}

/** Removes every simulated host and the bridge (processes in them must be gone). */
export function removeNetwork(): void {
  let names: string[] = [];
  try {
    names = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.split(" ")[0] ?? "")
      .filter((n) => n.startsWith("koine-"));
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
    .filter((n) => n === BRIDGE || n.startsWith("kv-"));
  for (const link of links) {
    try {
      ip("link", "del", link);
    } catch {
      // already gone
    }
  }
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
  const child = spawn("ip", ["netns", "exec", host.namespace, command, ...args], {
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
  return startOn(
    host,
    service,
    process.execPath,
    ["--import", "tsx", `services/${service}/src/main.ts`],
    env,
    new RegExp(`koine ${service}[ :]`),
  );
}

/** Starts one server of a NATS cluster on a host (client port 4222, routes 6222). */
export function startNatsOn(host: SimHost, name: string, storeDir: string, peers: SimHost[]): Promise<HostProcess> {
  const routes = peers.filter((p) => p !== host).map((p) => `nats://${p.ip}:6222`);
  const args = ["-a", "0.0.0.0", "-p", "4222", "-js", "-sd", storeDir, "-n", name, "--cluster_name", "koine"];
  args.push("--cluster", `nats://${host.ip}:6222`, "--routes", routes.join(","));
  return startOn(host, name, findNatsServer(), args, {}, /Server is ready/);
}
