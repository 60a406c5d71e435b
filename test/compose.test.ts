import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { SERVICE_ROLES } from "@koine/protocol";
import { freePort, onCleanup, startNats, tempDir, waitFor } from "@koine/testkit";
import { adminCall, s3Client } from "@koine/testkit/clients";

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
  const bare: NodeJS.ProcessEnv = { ...process.env, GRAFANA_ADMIN_PASSWORD: "a password" };
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
    "console",
    "grafana",
    "job-runner",
    "metadata",
    "nats1",
    "nats2",
    "nats3",
    "ozone-gateway",
    "prometheus",
    "s3-gateway",
  ]);
  const config = (await run("docker-compose", ["-f", FILE, "config"], { env })).stdout;
  const from = config.indexOf("\n  cache-node:");
  const cacheNode = config.slice(from, from + 1 + config.slice(from + 1).search(/\n {2}[a-z]/));
  assert.doesNotMatch(cacheNode, /container_name|ports:/, "a scaled service has no fixed name or host port");
  assert.match(cacheNode, /KOINE_NODE_ID: auto/);
  assert.match(config, /KOINE_NATS_URL: nats:\/\/nats1:4222,nats:\/\/nats2:4222,nats:\/\/nats3:4222/);
  // Published: the client ports only.
  const published = [...config.matchAll(/published: "?(\d+)"?/g)].map((m) => m[1]).sort();
  assert.deepEqual(published, ["19990", "19999", "3000", "39999", "8080", "9000", "9090", "9874", "9880"]);
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

test("compose - Prometheus scrapes every service; every panel of the Grafana dashboard queries metrics koine exports", async (t) => {
  const promtool = await run("promtool", ["--version"]).catch(() => undefined);
  if (promtool) await run("promtool", ["check", "config", join(ROOT, "compose", "prometheus.yml")]);
  else t.diagnostic("promtool is not installed (apt-get install prometheus): prometheus.yml's syntax not checked");
  const scraped = (await readFile(join(ROOT, "compose", "prometheus.yml"), "utf8"))
    .match(/names: \[([\w-]+)\]/g)
    ?.map((m) => m.slice(8, -1));
  assert.deepEqual(
    scraped?.sort(),
    [...SERVICE_ROLES].filter((role) => role !== "ais-target").sort(),
    "one job a service (an AIS target is its cache node's process)",
  );

  const dashboard = JSON.parse(await readFile(join(ROOT, "compose", "grafana", "dashboards", "koine.json"), "utf8")) as {
    panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
  };
  const datasource = await readFile(join(ROOT, "compose", "grafana", "provisioning", "datasources", "prometheus.yml"), "utf8");
  // What every panel asks for must be there: a cluster with traffic of each kind, its metrics text.
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "dash" }));
  await s3.send(new PutObjectCommand({ Bucket: "dash", Key: "k", Body: "bytes" }));
  assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: "dash", Key: "k" }))).Body?.transformToString(), "bytes");
  const load = await adminCall(cluster.adminUrl, "POST", "/api/v1/load", { paths: ["/dash"] });
  await waitFor(
    "the load job",
    async () => (await adminCall(cluster.adminUrl, "GET", `/api/v1/load?id=${load.json.id}`)).json.state === "SUCCEEDED",
  );
  const exported = new Set(
    (await (await fetch(`${cluster.adminUrl}/metrics`)).text())
      .split("\n")
      .flatMap((line) => (line.startsWith("#") ? [] : (/^[a-zA-Z_:][\w:]*/.exec(line) ?? []))),
  );
  assert.ok(dashboard.panels.length >= 10);
  for (const panel of dashboard.panels) {
    assert.ok(datasource.includes(`uid: ${panel.datasource.uid}`), `${panel.title}: its data source is the provisioned one`);
    assert.ok(panel.targets.length > 0, panel.title);
    for (const { expr } of panel.targets) {
      const names = [...expr.matchAll(/\b(koine_\w+|process_\w+|nodejs_\w+)\b/g)].map((m) => m[1] as string);
      assert.ok(names.length > 0, `${panel.title}: ${expr} queries no koine metric`);
      for (const name of names) assert.ok(exported.has(name), `${panel.title}: ${name} is not in koine's /metrics`);
    }
  }
});
