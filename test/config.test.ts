import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as ais from "@koine/ais-gateway";
import * as admin from "@koine/alluxio-admin";
import * as alluxio from "@koine/alluxio-proxy";
import * as cacheNode from "@koine/cache-node";
import { KNOWN_SETTINGS, readSettings, Setting, unknownSettings } from "@koine/config";
import * as webConsole from "@koine/console";
import * as jobRunner from "@koine/job-runner";
import * as launcher from "@koine/launcher";
import * as metadata from "@koine/metadata";
import * as ozone from "@koine/ozone-gateway";
import * as s3 from "@koine/s3-gateway";
import { onCleanup, tempDir } from "@koine/testkit";
import { Type as T } from "@sinclair/typebox";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

test("config - settings are read by kind with their defaults; a bad one is one line naming it", () => {
  const schema = T.Object({
    KOINE_X_PORT: Setting.port(9000, "a port"),
    KOINE_X_SIZE: Setting.size(1024, "a size"),
    KOINE_X_WAIT: Setting.duration(5_000, "a duration"),
    KOINE_X_COUNT: Setting.count(2, "a count", 64),
    KOINE_X_NAME: Setting.text("node0", "a name", "^[a-z0-9]+$"),
    KOINE_X_LIST: Setting.list(["localhost"], "a list"),
    KOINE_X_MAYBE: Setting.optionalText("no default"),
  });
  assert.deepEqual(readSettings(schema, {}), {
    KOINE_X_PORT: 9000,
    KOINE_X_SIZE: 1024,
    KOINE_X_WAIT: 5_000,
    KOINE_X_COUNT: 2,
    KOINE_X_NAME: "node0",
    KOINE_X_LIST: ["localhost"],
  });
  const set = readSettings(schema, {
    KOINE_X_PORT: "0",
    KOINE_X_SIZE: "8GiB",
    KOINE_X_WAIT: "5min",
    KOINE_X_COUNT: "64",
    KOINE_X_NAME: "node7",
    KOINE_X_LIST: " a.example , b.example ,",
    KOINE_X_MAYBE: "yes",
  });
  assert.deepEqual(set, {
    KOINE_X_PORT: 0,
    KOINE_X_SIZE: 8 * 1024 ** 3,
    KOINE_X_WAIT: 300_000,
    KOINE_X_COUNT: 64,
    KOINE_X_NAME: "node7",
    KOINE_X_LIST: ["a.example", "b.example"],
    KOINE_X_MAYBE: "yes",
  });
  for (const [name, text, message] of [
    ["KOINE_X_PORT", "65536", 'KOINE_X_PORT must be a port number, not "65536"'],
    ["KOINE_X_PORT", "9000x", 'KOINE_X_PORT must be a port number, not "9000x"'],
    ["KOINE_X_SIZE", "lots", 'KOINE_X_SIZE must be a size such as 8GiB, not "lots"'],
    ["KOINE_X_WAIT", "soon", 'KOINE_X_WAIT must be a duration such as 30s, 5min or -1, not "soon"'],
    ["KOINE_X_COUNT", "0", 'KOINE_X_COUNT must be a whole number from 1 to 64, not "0"'],
    ["KOINE_X_COUNT", "1.5", 'KOINE_X_COUNT must be a whole number from 1 to 64, not "1.5"'],
    ["KOINE_X_NAME", "Node 7", 'KOINE_X_NAME must be text matching ^[a-z0-9]+$, not "Node 7"'],
  ] as const) {
    assert.throws(() => readSettings(schema, { [name]: text }), { message }, `${name}=${text}`);
  }
});

test("config - every setting a service, the launcher or a script reads is known, and an unknown one is named with the closest", () => {
  const schemas = [metadata, cacheNode, jobRunner, s3, alluxio, admin, ais, ozone, webConsole, launcher].map((m) => m.Settings);
  const read = new Set(schemas.flatMap((s) => Object.keys(s.properties)));
  // Read by the log package and the operator scripts, which have no schema of their own.
  for (const name of ["KOINE_LOG_LEVEL", "KOINE_ADMIN_URL", "KOINE_HOSTS_NETWORK", "KOINE_HOSTS_SUBNET"]) read.add(name);
  assert.deepEqual([...read].sort(), [...KNOWN_SETTINGS].sort());
  assert.deepEqual(unknownSettings({ KOINE_S3_PROT: "9000", KOINE_CACHE_CAPACITY: "1GiB", PATH: "/bin" }), [
    { name: "KOINE_S3_PROT", closest: "KOINE_S3_PORT" },
  ]);
});

/** Runs a service (or `npm run up`'s launcher) with `env`, until it says it serves or exits: what it printed, and its exit code. */
function run(main: string, env: Record<string, string>, ready: RegExp): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, ["--import", "tsx", main], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve) => {
    const take = (c: Buffer) => {
      out += c;
      if (ready.test(out)) {
        child.kill("SIGKILL");
        resolve({ out, code: null });
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("exit", (code) => resolve({ out, code }));
  });
}

test("config - at start-up: a bad value stops a service in one line, an unknown setting is warned about, a busy port names its setting", async (t) => {
  const home = await tempDir(t, "koine-config-");
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  onCleanup(t, () => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = String((busy.address() as { port: number }).port);
  const base = { KOINE_HOME: home, KOINE_NATS_URL: "nats://127.0.0.1:1" };

  const bad = await run("services/alluxio-admin/src/main.ts", { ...base, KOINE_ADMIN_PORT: "ninety" }, /never/);
  assert.equal(bad.code, 2);
  assert.equal(bad.out.trim(), 'koine alluxio-admin: KOINE_ADMIN_PORT must be a port number, not "ninety"');

  // The all-in-one cluster on a busy S3 port: one line saying which setting to change, no stack trace.
  const up = await run(
    "launcher/src/main.ts",
    { KOINE_HOME: home, KOINE_NATS_PORT: "0", KOINE_S3_PORT: port, KOINE_S3_PROT: "9001" },
    /koine is up/,
  );
  assert.equal(up.code, 2, up.out);
  assert.match(up.out, /^koine: KOINE_S3_PROT is not a koine setting \(did you mean KOINE_S3_PORT\?\); it is ignored$/m);
  assert.match(up.out, new RegExp(`^koine: port ${port} is in use: set KOINE_S3_PORT to a free port \\(0 picks one\\)$`, "m"));
  assert.doesNotMatch(up.out, /\n\s+at /, "no stack trace");
  // Its own nats-server on a busy port, likewise.
  const nats = await run("launcher/src/main.ts", { KOINE_HOME: home, KOINE_NATS_PORT: port }, /koine is up/);
  assert.equal(nats.code, 2, nats.out);
  assert.match(nats.out, new RegExp(`^koine: port ${port} is in use: set KOINE_NATS_PORT to a free port \\(0 picks one\\)$`, "m"));
});
