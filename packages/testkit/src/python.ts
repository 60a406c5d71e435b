import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The stock clients beside the repo (../shared/clients): test fixtures, never imported by koine. */
export const STOCK_CLIENTS = join(import.meta.dirname, "..", "..", "..", "..", "shared", "clients");

/**
 * The PYTHONPATH under which the stock clients import (their README's
 * set-up script, run once), checked by importing `module`; or why they
 * cannot be imported here (a test skips, saying so).
 */
export async function stockPythonPath(module: string): Promise<{ path: string } | { reason: string }> {
  if (!existsSync(STOCK_CLIENTS)) return { reason: `the stock clients are not here (${STOCK_CLIENTS})` };
  try {
    const script = join(STOCK_CLIENTS, "setup-python-clients.sh");
    const { stdout: path } = await run("bash", ["-c", `eval "$(bash '${script}')" && printf %s "$PYTHONPATH"`], { timeout: 120_000 });
    if (!path) return { reason: "setup-python-clients.sh set no PYTHONPATH" };
    await run("python3", ["-c", `import ${module}`], { env: { ...process.env, PYTHONPATH: path } });
    return { path };
  } catch (err) {
    return { reason: `${module} cannot be imported (${(err as Error).message.split("\n")[0]})` };
  }
}
