import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const FILE = join(import.meta.dirname, "..", "compose", "docker-compose.yml");

test("compose - the multi-host file is valid and describes every service, cache nodes scalable", async (t) => {
  const found = await run("docker-compose", ["version"]).catch(() => undefined);
  if (!found) {
    t.skip("docker-compose is not installed (apt-get install docker-compose); .ci/run installs it");
    return;
  }
  await run("docker-compose", ["-f", FILE, "config", "-q"]);
  const services = (await run("docker-compose", ["-f", FILE, "config", "--services"])).stdout.trim().split("\n").sort();
  assert.deepEqual(services, [
    "alluxio-admin",
    "alluxio-proxy",
    "cache-node",
    "job-runner",
    "metadata",
    "nats1",
    "nats2",
    "nats3",
    "s3-gateway",
  ]);
  const config = (await run("docker-compose", ["-f", FILE, "config"])).stdout;
  const cacheNode = config.slice(config.indexOf("  cache-node:"), config.indexOf("\n  job-runner:"));
  assert.doesNotMatch(cacheNode, /container_name|ports:/, "a scaled service has no fixed name or host port");
  assert.match(cacheNode, /KOINE_NODE_ID: auto/);
  assert.match(config, /KOINE_NATS_URL: nats:\/\/nats1:4222,nats:\/\/nats2:4222,nats:\/\/nats3:4222/);
});
