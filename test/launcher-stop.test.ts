import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { allInOnePorts, onCleanup, type TestContext, tempDir } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";

const MAIN = join(import.meta.dirname, "..", "launcher", "src", "main.ts");

/** `npm run up` in a process group of its own, as a terminal runs it; resolves once it serves. */
async function up(
  t: TestContext,
): Promise<{ child: ChildProcess; s3Url: string; natsPort: number; home: string; exited: Promise<number | null> }> {
  const ports = await allInOnePorts();
  const home = await tempDir(t, "koine-up-");
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: {
      ...process.env,
      KOINE_HOME: home,
      ...ports,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onCleanup(t, () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), "SIGKILL");
  });
  let out = "";
  child.stderr?.on("data", (c) => {
    out += c;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (c) => {
      out += c;
      if (out.includes("koine is up")) resolve();
    });
    void exited.then((code) => reject(new Error(`npm run up exited with ${code}: ${out}`)));
  });
  return { child, s3Url: `http://127.0.0.1:${ports.KOINE_S3_PORT}`, natsPort: Number(ports.KOINE_NATS_PORT), home, exited };
}

/** Whether something still listens on `port` (the nats-server npm run up started). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The nats-server processes whose store is below `home` that have not exited, each as its pid and its state line. */
async function natsServersOf(home: string): Promise<string[]> {
  const alive: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes("nats-server") || !cmdline.includes(home)) continue;
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    const state = /^State:\s*(.*)$/m.exec(status)?.[1] ?? "gone";
    // A zombie has exited: only its parent's (here: init's) reaping is left.
    if (!state.startsWith("Z") && state !== "gone") alive.push(`${pid} ${state}`);
  }
  return alive;
}

/** Whether `promise` settles within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timed out"> {
  return Promise.race([promise, sleep(ms).then(() => "timed out" as const)]);
}

/** The local addresses (hex, as /proc/net/tcp shows them) of every socket `pid` listens on. */
async function listeningAddresses(pid: number): Promise<string[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1] as string);
  }
  const addresses: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of (await readFile(table, "utf8")).split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === "0A" && inodes.has(f[9] as string)) addresses.push((f[1] as string).split(":")[0] as string);
    }
  }
  return addresses;
}

test("launcher - Ctrl-C (SIGINT to the whole process group, nats-server included) stops everything after traffic", async (t) => {
  const { child, s3Url, natsPort, exited } = await up(t);
  // Every port the all-in-one cluster opens is on loopback: a laptop's cluster is the laptop's (KOINE_BIND_HOST opens it wider).
  const bound = await listeningAddresses(child.pid as number);
  assert.ok(bound.length >= 4, `${bound.length} listening sockets`);
  assert.deepEqual([...new Set(bound)], ["0100007F"], "every listening socket is on 127.0.0.1");
  const s3 = s3Client(s3Url);
  onCleanup(t, () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "bkt" }));
  await Promise.all(Array.from({ length: 20 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: "bkt", Key: `k${i}`, Body: "x" }))));
  process.kill(-(child.pid as number), "SIGINT");
  assert.equal(await within(exited, 20_000), 0, "stopped, cleanly");
  assert.equal(await listening(natsPort), false, "its nats-server stopped too");
});

test("launcher - a second Ctrl-C forces the stop at once", async (t) => {
  const { child, natsPort, home, exited } = await up(t);
  assert.equal((await natsServersOf(home)).length, 1, "one nats-server found by its store");
  process.kill(-(child.pid as number), "SIGINT");
  await sleep(200);
  try {
    process.kill(child.pid as number, "SIGINT");
  } catch {
    // already stopped
  }
  assert.notEqual(await within(exited, 3_000), "timed out");
  // Forced or not, the nats-server it started goes with it (it runs in a process group of its own): asked to stop,
  // killed 3 s later. Its exit may wait on the disk (a kill does not cut an fsync short), so the wait is generous.
  let left = await natsServersOf(home);
  for (let waited = 0; left.length > 0 && waited < 20_000; waited += 100) {
    await sleep(100);
    left = await natsServersOf(home);
  }
  assert.deepEqual(left, [], "its nats-server exited too (pid and state of what is left)");
  assert.equal(await listening(natsPort), false, "nothing listens on its port");
});
