import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs `npm run up`'s all-in-one cluster as a child process with `env`
 * added to this process's environment; resolves once it serves.
 */
export function launchAllInOne(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", MAIN], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c) => {
      out += c;
      if (out.includes("koine is up")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`the all-in-one cluster exited with ${code}: ${out}`)));
  });
}

/** Ports a test's service processes take unless told: free ones, not the defaults an operator's cluster may hold. */
const FREE_PORTS = { KOINE_METADATA_PORT: "0", KOINE_JOB_RUNNER_PORT: "0" };

/**
 * One koine service as its own process (`services/<service>/src/main.ts`),
 * started, killed with SIGKILL and started again as an operator would; what
 * it printed is kept. Metadata and the job runner serve their health and
 * metrics on free ports ({@link ServiceProcess.opsUrl}) unless `env` says.
 */
export class ServiceProcess {
  #child: ChildProcess | undefined;
  /** Everything the process printed, stdout and stderr, across restarts. */
  output = "";

  constructor(
    readonly service: string,
    readonly env: Record<string, string>,
  ) {}

  /** Starts the service; resolves once it says it serves. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", `services/${this.service}/src/main.ts`], {
      cwd: ROOT,
      env: { ...process.env, ...FREE_PORTS, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    child.stderr?.on("data", (c: Buffer) => {
      this.output += c;
    });
    const ready = new RegExp(`koine ${this.service}[ :]`);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (c: Buffer) => {
        this.output += c;
        if (ready.test(this.output)) resolve();
      });
      child.once("exit", (code) => reject(new Error(`${this.service} exited with ${code}: ${this.output.slice(-2000)}`)));
    });
  }

  /** Where the service's last start said its /healthz, /readyz and /metrics are (metadata, job runner). */
  get opsUrl(): string | undefined {
    return [...this.output.matchAll(/health and metrics on (http:\/\/\S+)/g)].at(-1)?.[1];
  }

  /** Whether the process is running (started, not exited since). */
  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Sends `signal` (SIGSTOP freezes the process as a hung host would; SIGCONT thaws it). */
  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }
}
