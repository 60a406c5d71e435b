// Peer S3 servers that `npm run bench` runs the same workloads against, in
// the same run: s3rver (npm, a devDependency) and moto_server (Python's moto,
// when installed). Both are test doubles that keep nothing durable (s3rver
// writes files without fsync, moto holds objects in memory): what koine is
// compared with, not what it should be.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "@koine/testkit";
import { which } from "zx";

/** An S3 endpoint the workloads run against. */
export interface S3Target {
  name: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

const root = new URL("..", import.meta.url).pathname;

/** Starts `command` and waits until `endpoint` answers HTTP (any status), at most 30 s. */
async function startServer(name: string, command: string, args: string[], endpoint: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: "ignore" });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`))));
  exited.catch(() => {});
  for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    const answered = await Promise.race([
      fetch(endpoint).then(
        () => true,
        () => false,
      ),
      exited,
    ]);
    if (answered) return child;
  }
  child.kill("SIGKILL");
  throw new Error(`${name} did not answer on ${endpoint} in 30 s`);
}

const stopper = (child: ChildProcess) => async () => {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
};

/** s3rver with its files in `dir`, or why not. */
export async function startS3rver(dir: string): Promise<S3Target | string> {
  const bin = join(root, "node_modules", ".bin", "s3rver");
  if (!existsSync(bin)) return "s3rver is not installed (pnpm install brings it)";
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = await startServer(
    "s3rver",
    bin,
    ["--directory", dir, "--address", "127.0.0.1", "--port", String(port), "--silent"],
    endpoint,
  );
  // s3rver checks signatures against its one built-in key.
  return { name: "s3rver", endpoint, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }, stop: stopper(child) };
}

/** moto_server, or why not. */
export async function startMoto(): Promise<S3Target | string> {
  if (!(await which("moto_server", { nothrow: true }))) return "moto_server is not installed (pip install 'moto[server]')";
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = await startServer("moto_server", "moto_server", ["-H", "127.0.0.1", "-p", String(port)], endpoint);
  return { name: "moto", endpoint, credentials: { accessKeyId: "moto", secretAccessKey: "moto" }, stop: stopper(child) };
}
