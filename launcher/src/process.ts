import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/**
 * Runs `npm run up`'s all-in-one cluster as a child process with `env`
 * added to this process's environment; resolves once it serves.
 */
export function launchAllInOne(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
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
