#!/usr/bin/env -S pnpm exec tsx
// Lays a koine topology out on simulated hosts on one Linux box: each host a
// network namespace with its own address on a bridge, its services started
// in it, so that an operator can try a multi-host layout, cut a host off and
// add one. Needs root (network namespaces).
//
//   scripts/hosts up [--layout "<host>=<service>,... ..."]   creates the hosts and starts their services
//   scripts/hosts add <host> <service>[,<service>...]         one more host in the running layout
//   scripts/hosts cut <host> | plug <host>                    unplugs / plugs back a host's cable
//   scripts/hosts status                                      hosts, cables, processes, cache nodes
//   scripts/hosts down                                        stops every process, removes the hosts
//
// Services: nats (one server of the NATS cluster; hosts named at "up" only),
// metadata, cache-node, job-runner, s3-gateway, alluxio-proxy, alluxio-admin,
// each on its usual port at its host's address. The default layout is
// a=nats,metadata b=nats,cache-node,s3-gateway,alluxio-proxy c=nats,cache-node,job-runner,alluxio-admin.
// Settings: KOINE_HOME (default .koine-hosts; each host keeps its state in
// hosts/<name>, the root under-store is ufs/), KOINE_HOSTS_NETWORK (koi: 1-4
// letters naming the namespaces and links), KOINE_HOSTS_SUBNET (10.78.0: the
// box is .1, host n is .(10+n)).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadClusterKey, natsUsers } from "@koine/access";
import { findNatsServer } from "@koine/bus";
import {
  addHost,
  canSimulateHosts,
  createNetwork,
  hostOf,
  inHost,
  jetStreamUnsettled,
  linkIsUp,
  natsOnHostArgs,
  removeNetwork,
  type SimHost,
  type SimNetwork,
  setLink,
} from "@koine/launcher";
import { argv, echo } from "zx";
import { alive, echoMembers, ProcessTable } from "./operator.ts";

const DEFAULT_LAYOUT = "a=nats,metadata b=nats,cache-node,s3-gateway,alluxio-proxy c=nats,cache-node,job-runner,alluxio-admin";
/** The services a host may run, in the order they are started. */
const SERVICES = ["nats", "metadata", "cache-node", "job-runner", "s3-gateway", "alluxio-proxy", "alluxio-admin"];
/** The endpoints printed for an operator. */
const ENDPOINTS: Record<string, { label: string; port: number }> = {
  "s3-gateway": { label: "S3", port: 9000 },
  "alluxio-proxy": { label: "Alluxio proxy", port: 39999 },
  "alluxio-admin": { label: "admin", port: 19999 },
};

interface Layout {
  network: SimNetwork;
  hosts: { name: string; index: number; services: string[] }[];
}

const root = new URL("..", import.meta.url).pathname;
const home = resolve(process.env.KOINE_HOME ?? join(root, ".koine-hosts"));
/** The key every simulated host's services share. */
const clusterKey = () => loadClusterKey(process.env.KOINE_CLUSTER_KEY, join(home, "cluster.key"));
const runDir = join(home, "run");
const layoutFile = join(runDir, "layout.json");
const processes = new ProcessTable(runDir, join(home, "logs"));

function parseLayout(text: string): Layout["hosts"] {
  const hosts = text
    .trim()
    .split(/\s+/)
    .map((part, i) => {
      const [name = "", services = ""] = part.split("=");
      return { name, index: i + 1, services: parseServices(services) };
    });
  if (new Set(hosts.map((h) => h.name)).size !== hosts.length) throw new Error("a layout names each host once");
  if (!hosts.some((h) => h.services.includes("nats"))) throw new Error("a layout needs a host with nats");
  if (hosts.filter((h) => h.services.includes("metadata")).length !== 1) throw new Error("a layout has one host with metadata");
  return hosts;
}

function parseServices(text: string): string[] {
  const services = text.split(",").filter((s) => s !== "");
  for (const s of services) if (!SERVICES.includes(s)) throw new Error(`unknown service "${s}" (services: ${SERVICES.join(", ")})`);
  if (services.length === 0) throw new Error("a host runs at least one service");
  return services;
}

function savedLayout(): Layout {
  if (!existsSync(layoutFile)) throw new Error(`no hosts in ${home}: run "scripts/hosts up" first`);
  return JSON.parse(readFileSync(layoutFile, "utf8")) as Layout;
}

/** Every NATS server, the one on `host` first when given (metadata uses them in that order: docs/deployment.md). */
const natsUrlOf = (layout: Layout, host?: SimHost) =>
  layout.hosts
    .filter((h) => h.services.includes("nats"))
    .map((h) => hostOf(layout.network, h.name, h.index))
    .sort((a, b) => Number(b.name === host?.name) - Number(a.name === host?.name))
    .map((h) => `nats://${h.ip}:4222`)
    .join(",");

/** Starts `services` on `host`, in the order of {@link SERVICES}. */
async function startServices(layout: Layout, host: SimHost, services: string[]): Promise<void> {
  const hostHome = join(home, "hosts", host.name);
  mkdirSync(hostHome, { recursive: true });
  const natsHosts = layout.hosts.filter((h) => h.services.includes("nats")).map((h) => hostOf(layout.network, h.name, h.index));
  for (const service of SERVICES.filter((s) => services.includes(s))) {
    if (service === "nats") {
      const { command, args } = inHost(
        host,
        findNatsServer(),
        natsOnHostArgs(host, `nats-${host.name}`, join(hostHome, "nats"), natsHosts, natsUsers(clusterKey())),
      );
      await processes.launch(`${host.name}-nats`, command, args, {}, /Server is ready/);
      continue;
    }
    // Every host's services share one cluster key (each host has a home of its own).
    const env: Record<string, string> = {
      KOINE_NATS_URL: natsUrlOf(layout, host),
      KOINE_HOME: hostHome,
      KOINE_CLUSTER_KEY: clusterKey().toString("hex"),
    };
    if (service === "metadata") env.KOINE_ROOT_UFS = pathToFileURL(join(home, "ufs")).href;
    if (service === "cache-node") Object.assign(env, { KOINE_NODE_ID: host.name, KOINE_ADVERTISE_HOST: host.ip });
    await processes.launchService(`${host.name}-${service}`, service, env, host);
    const endpoint = ENDPOINTS[service];
    if (endpoint) echo(`    ${endpoint.label} :${endpoint.port}: http://${host.ip}:${endpoint.port}`);
  }
}

async function up(layoutText: string): Promise<void> {
  if (processes.anyAlive()) throw new Error(`hosts already run from ${home}: run "scripts/hosts down" first`);
  const can = canSimulateHosts();
  if (!can.ok) throw new Error(can.why);
  const network = { name: process.env.KOINE_HOSTS_NETWORK ?? "koi", subnet: process.env.KOINE_HOSTS_SUBNET ?? "10.78.0" };
  const layout: Layout = { network, hosts: parseLayout(layoutText) };
  createNetwork(network);
  const hosts = layout.hosts.map((h) => addHost(network, h.name, h.index));
  mkdirSync(runDir, { recursive: true });
  writeFileSync(layoutFile, JSON.stringify(layout));
  echo(`koine on simulated hosts (${network.subnet}.0/24, state in ${home}):`);
  // NATS servers first, then every host's services.
  for (const [i, host] of hosts.entries()) {
    if (layout.hosts[i]?.services.includes("nats")) await startServices(layout, host, ["nats"]);
  }
  for (const [i, host] of hosts.entries()) {
    await startServices(
      layout,
      host,
      (layout.hosts[i]?.services ?? []).filter((s) => s !== "nats"),
    );
  }
  echo(`NATS: ${natsUrlOf(layout)}`);
}

async function add(name: string, servicesText: string): Promise<void> {
  const layout = savedLayout();
  const services = parseServices(servicesText);
  if (services.includes("nats")) throw new Error("NATS servers are laid out at up (the cluster's routes are fixed then)");
  if (services.includes("metadata")) throw new Error("a layout has one host with metadata");
  if (layout.hosts.some((h) => h.name === name)) throw new Error(`host ${name} exists`);
  const index = Math.max(...layout.hosts.map((h) => h.index)) + 1;
  const host = addHost(layout.network, name, index);
  layout.hosts.push({ name, index, services });
  writeFileSync(layoutFile, JSON.stringify(layout));
  echo(`host ${name} (${host.ip}):`);
  await startServices(layout, host, services);
}

function hostNamed(layout: Layout, name: string): SimHost {
  const h = layout.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name} (hosts: ${layout.hosts.map((x) => x.name).join(", ")})`);
  return hostOf(layout.network, h.name, h.index);
}

async function status(): Promise<void> {
  if (!existsSync(layoutFile) || processes.list().length === 0) return echo(`no hosts in ${home}`);
  const layout = savedLayout();
  for (const h of layout.hosts) {
    const host = hostOf(layout.network, h.name, h.index);
    echo(`host ${h.name} ${host.ip} cable ${linkIsUp(host) ? "up" : "DOWN"}: ${h.services.join(", ")}`);
  }
  for (const p of processes.list()) echo(`${alive(p.pid) ? "up  " : "DOWN"} ${p.name} (pid ${p.pid})`);
  const monitors = layout.hosts
    .filter((h) => h.services.includes("nats"))
    .map((h) => `http://${hostOf(layout.network, h.name, h.index).ip}:8222`);
  const unsettled = await jetStreamUnsettled(monitors);
  echo(`JetStream: ${unsettled === "" ? "settled (every server names the same leaders)" : unsettled}`);
  await echoMembers(natsUrlOf(layout), clusterKey());
}

async function down(): Promise<void> {
  await processes.stopAll();
  if (existsSync(layoutFile)) removeNetwork(savedLayout().network);
  echo("hosts removed");
}

const command = String(argv._[0] ?? "");
try {
  if (command === "up") await up(String(argv.layout ?? DEFAULT_LAYOUT));
  else if (command === "add" && argv._.length === 3) await add(String(argv._[1]), String(argv._[2]));
  else if ((command === "cut" || command === "plug") && argv._.length === 2)
    setLink(hostNamed(savedLayout(), String(argv._[1])), command === "plug");
  else if (command === "status") await status();
  else if (command === "down") await down();
  else {
    echo("usage: scripts/hosts up [--layout <layout>] | add <host> <services> | cut <host> | plug <host> | status | down");
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`koine hosts: ${(err as Error).message}`);
  process.exitCode = 1;
}
