import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { bootCluster } from "@koine/launcher";
import { SERVICE_DOWN_MS } from "@koine/protocol";
import { onCleanup, tempDir, waitFor } from "@koine/testkit";

const run = promisify(execFile);
const KOINE = join(import.meta.dirname, "..", "scripts", "koine.ts");

function hasTmux(): boolean {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("scripts/koine status and top - a healthy cluster (exit 0), top under tmux with a running job, a cache node killed (exit 1, named)", async (t) => {
  const dir = await tempDir(t, "koine-top-data-");
  for (let i = 0; i < 8; i++) await writeFile(join(dir, `f${i}.bin`), randomBytes(1024 * 1024));
  const cluster = await bootCluster(t, { cacheNodes: 2 });
  const env = { ...process.env, KOINE_ADMIN_URL: cluster.adminUrl };
  const koine = (...args: string[]) => run(process.execPath, ["--import", "tsx", KOINE, ...args], { env, timeout: 60_000 });

  // Every service has announced itself within a heartbeat.
  let healthy = "";
  await waitFor("every service announced", async () => {
    healthy = (await koine("status")).stdout;
    return ["metadata", "job-runner", "s3-gateway", "alluxio-proxy", "alluxio-admin", "ais-gateway", "ozone-gateway"].every((role) =>
      healthy.includes(role),
    );
  }).catch(() => assert.fail(healthy));
  assert.match(healthy, /services \(\d+ up, 0 down\)/);
  assert.match(healthy, /node0\s+LIVE/);
  assert.match(healthy, /node1\s+LIVE/);
  assert.match(healthy, /metadata: shard 0 led/);
  assert.match(healthy, /healthy$/m);

  // A slow load (1 MiB/s), watched by top in a terminal.
  await koine("mount", "add", "/top", pathToFileURL(dir).href);
  await koine("load", "submit", "--path", "/top", "--alias", "top-load", "--bandwidth", String(1024 * 1024), "--batch-size", "1");
  if (hasTmux()) {
    const session = `koine-top-${process.pid}`;
    execFileSync("tmux", [
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "200",
      "-y",
      "50",
      "-e",
      `KOINE_ADMIN_URL=${cluster.adminUrl}`,
      process.execPath,
      "--import",
      "tsx",
      KOINE,
      "top",
      "--interval",
      "0.5",
    ]);
    onCleanup(t, () => {
      try {
        execFileSync("tmux", ["kill-session", "-t", session], { stdio: "ignore" });
      } catch {
        // ended already (q)
      }
    });
    let screen = "";
    await waitFor(
      "top's frame with rates and the job",
      async () => {
        screen = execFileSync("tmux", ["capture-pane", "-p", "-t", session]).toString();
        return (
          /NODE[\s\S]*node0[\s\S]*node1/.test(screen) && /load\s+top-load\s+\[#*\.*\]\s+\d+%/.test(screen) && /cache hit ratio/.test(screen)
        );
      },
      20_000,
    ).catch(() => assert.fail(screen));
    assert.match(screen, /services\s+\d+ up, 0 down/);
    // It redraws in place: one frame on the screen, not a scroll of them.
    assert.equal(screen.match(/koine top/g)?.length, 1, screen);
    execFileSync("tmux", ["send-keys", "-t", session, "q"]);
    await waitFor("top to quit on q", async () => {
      try {
        execFileSync("tmux", ["has-session", "-t", session], { stdio: "ignore" });
        return false;
      } catch {
        return true;
      }
    });
  } else {
    t.diagnostic("tmux is not installed (apt install tmux): top's terminal view not checked");
  }
  await koine("load", "stop", "--alias", "top-load");

  // A cache node dies (no goodbye): once silent past SERVICE_DOWN_MS, status names it and exits 1.
  await cluster.cacheNodes[1]?.abort();
  await new Promise((resolve) => setTimeout(resolve, SERVICE_DOWN_MS + 1_000));
  const degraded = await koine("status").then(
    () => assert.fail("status exited 0 with a cache node dead"),
    (err: { code?: number; stdout?: string }) => err,
  );
  assert.equal(degraded.code, 1);
  assert.match(degraded.stdout ?? "", /degraded:\n\s+cache-node node1 is down \(not heard from for \d+s/);
});
