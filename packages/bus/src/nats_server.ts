import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** koine's nats-server settings that have no command-line flag (pings that drop a silent peer in seconds, not minutes). */
export const NATS_SERVER_CONFIG = fileURLToPath(new URL("../nats-server.conf", import.meta.url));

export interface NatsServerOptions {
  /** JetStream store directory. */
  storeDir: string;
  /** Client port; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Path of the nats-server binary. */
  binary?: string;
  /** Monitoring port (none when absent). */
  monitorPort?: number;
  /** Join a cluster: this server's unique name, the route port, and the other servers' route URLs. */
  cluster?: { name: string; serverName: string; port: number; routes: string[] };
  /** Users the server lets in, each with its subjects; without, anyone connects. */
  users?: readonly unknown[];
  /** Speak TLS (required of every client) with this certificate and key (PEM files). */
  tls?: NatsTls;
}

export interface NatsTls {
  certFile: string;
  keyFile: string;
}

/**
 * A server configuration: koine's settings, an authorization block with
 * `users`, and a TLS block with `tls` (NATS's format takes JSON).
 */
export function natsServerConfig(users: readonly unknown[] | undefined, tls?: NatsTls): string {
  const parts = [readFileSync(NATS_SERVER_CONFIG, "utf8")];
  if (users) parts.push(`authorization: ${JSON.stringify({ users }, null, 2)}`);
  if (tls) parts.push(`tls: ${JSON.stringify({ cert_file: tls.certFile, key_file: tls.keyFile, timeout: 5 })}`);
  return `${parts.join("\n")}\n`;
}

/** Writes {@link natsServerConfig} beside the store, readable by its owner only; its path. */
function writeConfig(storeDir: string, users: readonly unknown[] | undefined, tls: NatsTls | undefined): string {
  const file = `${storeDir.replace(/\/+$/, "")}.conf`;
  writeFileSync(file, natsServerConfig(users, tls), { mode: 0o600 });
  return file;
}

/** The command-line arguments of a koine nats-server: JetStream, koine's settings, and a cluster when asked. */
export function natsServerArgs(options: NatsServerOptions): string[] {
  const host = options.host ?? "127.0.0.1";
  const config = options.users || options.tls ? writeConfig(options.storeDir, options.users, options.tls) : NATS_SERVER_CONFIG;
  const args = ["-c", config, "-a", host, "-p", String(options.port || -1), "-js", "-sd", options.storeDir];
  if (options.monitorPort) args.push("-m", String(options.monitorPort));
  if (options.cluster) {
    const { name, serverName, port, routes } = options.cluster;
    args.push("-n", serverName, "--cluster_name", name, "--cluster", `nats://${host}:${port}`);
    if (routes.length > 0) args.push("--routes", routes.join(","));
  }
  return args;
}

export interface NatsServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** Finds nats-server on PATH or in the places Debian installs it. */
export function findNatsServer(): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/usr/local/bin"])) {
    const candidate = `${dir}/nats-server`;
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error("Cannot find nats-server: run `bash scripts/ensure.sh` to install it");
}

/** Starts a nats-server child process with JetStream and waits until it serves. */
export function startNatsServer(options: NatsServerOptions): Promise<NatsServer> {
  const host = options.host ?? "127.0.0.1";
  const args = natsServerArgs(options);
  // A process group of its own: a terminal's Ctrl-C reaches the parent only, which stops the server last, after
  // every client of it has said goodbye.
  const child = spawn(options.binary ?? findNatsServer(), args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  // Being in a group of its own, it would outlive a parent that exits without stopping it (a forced second Ctrl-C).
  // A parent that exits cannot wait for the server to stop: a detached watchdog kills it if it is still there in 3 s
  // (a SIGTERM sent by a parent forced to exit was, now and then, not acted on, and the server outlived everything).
  const stopWithParent = () => {
    child.kill("SIGTERM");
    const pid = child.pid;
    const watchdog = `sleep 3; grep -q nats-server /proc/${pid}/cmdline 2>/dev/null && kill -9 ${pid}`;
    spawn("sh", ["-c", watchdog], { detached: true, stdio: "ignore" }).unref();
  };
  process.once("exit", stopWithParent);
  child.once("exit", () => process.off("exit", stopWithParent));
  return new Promise((resolve, reject) => {
    let log = "";
    let port = 0;
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
      if (m) port = Number(m[1]);
      if (port && log.includes("Server is ready")) {
        child.stderr?.off("data", onData);
        child.stderr?.resume();
        resolve({ url: `nats://${host}:${port}`, port, process: child, stop: () => stopChild(child) });
      }
    };
    child.stderr?.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => {
      // A port in use: the error Node's own listen() gives, so that callers tell the operator which setting to change.
      const inUse = /Error listening on port: [^\s]*:(\d+), "[^"]*address already in use/.exec(log);
      if (inUse) {
        reject(Object.assign(new Error(`nats-server: port ${inUse[1]} is in use`), { code: "EADDRINUSE", port: Number(inUse[1]) }));
      } else {
        reject(new Error(`nats-server exited with ${code}: ${log.slice(-500)}`));
      }
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
