import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { freePort, onCleanup, startNats, tempDir, waitFor } from "@koine/testkit";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const FILE = join(ROOT, "compose", "docker-compose.yml");

test("compose - the multi-host file is valid and describes every service, cache nodes scalable", async (t) => {
  const found = await run("docker-compose", ["version"]).catch(() => undefined);
  if (!found) {
    t.skip("docker-compose is not installed (apt-get install docker-compose); .ci/run installs it");
    return;
  }
  // Without the shared key the file refuses to start anything.
  const bare = { ...process.env };
  delete bare.KOINE_CLUSTER_KEY;
  await assert.rejects(run("docker-compose", ["-f", FILE, "config", "-q"], { env: bare }), /KOINE_CLUSTER_KEY/);
  const env = { ...bare, KOINE_CLUSTER_KEY: "ab".repeat(32) };
  await run("docker-compose", ["-f", FILE, "config", "-q"], { env });
  const services = (await run("docker-compose", ["-f", FILE, "config", "--services"], { env })).stdout.trim().split("\n").sort();
  assert.deepEqual(services, [
    "ais-gateway",
    "alluxio-admin",
    "alluxio-proxy",
    "cache-node",
    "job-runner",
    "metadata",
    "nats1",
    "nats2",
    "nats3",
    "ozone-gateway",
    "s3-gateway",
  ]);
  const config = (await run("docker-compose", ["-f", FILE, "config"], { env })).stdout;
  const cacheNode = config.slice(config.indexOf("  cache-node:"), config.indexOf("\n  job-runner:"));
  assert.doesNotMatch(cacheNode, /container_name|ports:/, "a scaled service has no fixed name or host port");
  assert.match(cacheNode, /KOINE_NODE_ID: auto/);
  assert.match(config, /KOINE_NATS_URL: nats:\/\/nats1:4222,nats:\/\/nats2:4222,nats:\/\/nats3:4222/);
  // Published: the client ports only.
  const published = [...config.matchAll(/published: "?(\d+)"?/g)].map((m) => m[1]).sort();
  assert.deepEqual(published, ["19999", "39999", "8080", "9000", "9874", "9880"]);
});

test("compose - the image's contents: pnpm deploy of every service, each started by the entrypoint from it", async (t) => {
  // What the Dockerfile's build stage does, then its entrypoint in the deployed tree (no engine runs here).
  const image = await tempDir(t, "koine-image-");
  await run("pnpm", ["--filter", "@koine/launcher", "deploy", "--prod", "--legacy", image], { cwd: ROOT });
  await mkdir(join(image, "scripts"));
  await copyFile(join(ROOT, "scripts", "service"), join(image, "scripts", "service"));
  const nats = await startNats(t);
  const home = await tempDir(t, "koine-image-home-");
  const env = { ...process.env, KOINE_NATS_URL: nats.url, KOINE_HOME: home, KOINE_S3_PORT: String(await freePort()) };
  for (const service of ["metadata", "cache-node", "s3-gateway"]) {
    const portEnv =
      service === "cache-node"
        ? { KOINE_CACHE_PORT: String(await freePort()) }
        : service === "metadata"
          ? { KOINE_METADATA_PORT: String(await freePort()) }
          : {};
    const child = spawn(join(image, "scripts", "service"), [service], { env: { ...env, ...portEnv }, stdio: ["ignore", "pipe", "pipe"] });
    onCleanup(t, () => child.kill("SIGKILL"));
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c));
    child.stderr.on("data", (c: Buffer) => (out += c));
    await waitFor(`${service} from the deployed tree`, async () => out.includes(`koine ${service}`), 30_000);
    assert.doesNotMatch(realpathSync(join(image, "node_modules", "@koine", service)), new RegExp(`^${ROOT}`), "a copy, not the checkout");
  }
  const s3 = await fetch(`http://127.0.0.1:${env.KOINE_S3_PORT}/`);
  assert.equal(s3.status, 403, "the gateway answers (an anonymous ListBuckets is denied)");
});
