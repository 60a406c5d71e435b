import assert from "node:assert/strict";
import { test } from "node:test";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { ServiceProcess } from "@koine/launcher";
import { freePort, onCleanup, startNats, tempDir, waitFor } from "@koine/testkit";
import { basicAuth, s3Client, signedRequest, TEST_CREDENTIALS } from "@koine/testkit/clients";

/** The JSON log lines of `output` that carry request id `id`. */
function linesWith(output: string, id: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes(id))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("request ids - a PUT's x-request-id is in the gateway's, metadata's and the cache node's log lines, and answered back", async (t) => {
  const nats = await startNats(t);
  const home = await tempDir(t, "koine-ids-");
  const s3Port = await freePort();
  const base = { KOINE_HOME: home, KOINE_NATS_URL: nats.url, KOINE_LOG_LEVEL: "debug" };
  const metadata = new ServiceProcess("metadata", base);
  const node = new ServiceProcess("cache-node", { ...base, KOINE_CACHE_PORT: String(await freePort()) });
  const gateway = new ServiceProcess("s3-gateway", { ...base, KOINE_S3_PORT: String(s3Port) });
  const adminPort = await freePort();
  const admin = new ServiceProcess("alluxio-admin", { ...base, KOINE_ADMIN_PORT: String(adminPort) });
  const runner = new ServiceProcess("job-runner", base);
  for (const service of [metadata, node, gateway, admin, runner]) {
    await service.start();
    onCleanup(t, () => service.kill9());
  }
  const endpoint = `http://127.0.0.1:${s3Port}`;
  const s3 = s3Client(endpoint);
  onCleanup(t, () => s3.destroy());
  await waitFor("the gateway to be ready", async () => (await fetch(`${endpoint}/_koine/readyz`)).ok);
  await s3.send(new CreateBucketCommand({ Bucket: "ids" }));

  const putWithId = (key: string, id: string) =>
    signedRequest(endpoint, { method: "PUT", path: `/ids/${key}`, body: "traced", headers: { "x-request-id": id }, ...TEST_CREDENTIALS });
  const id = "test-put-0123456789";
  const put = await putWithId("object", id);
  assert.equal(put.status, 200, put.body);
  assert.equal(put.headers["x-amz-request-id"], id, "S3 answers the id in its own header");
  assert.equal(put.headers["x-request-id"], id);
  await waitFor("the lines to be written", () => [gateway, metadata, node].every((s) => linesWith(s.output, id).length > 0), 5_000);
  for (const [name, service] of [
    ["gateway", gateway],
    ["metadata", metadata],
    ["cache node", node],
  ] as const) {
    const lines = linesWith(service.output, id);
    assert.ok(lines.length > 0, `${name} logged the request: ${service.output.slice(-1500)}`);
    for (const line of lines) assert.equal(line.reqId, id, `${name}: ${JSON.stringify(line)}`);
  }
  assert.ok(
    linesWith(metadata.output, id).some((l) => l.subject === "koine.meta.commitFile"),
    "metadata's commit of the PUT carries the id",
  );

  // A job submitted with an id: the job runner's lines about it carry the id too (it travels in the queued job's headers).
  const jobId = "test-load-0123456789";
  const submitted = await fetch(`http://127.0.0.1:${adminPort}/api/v1/load`, {
    method: "POST",
    headers: { ...basicAuth(), "content-type": "application/json", "x-request-id": jobId },
    body: JSON.stringify({ paths: ["/ids"] }),
  });
  assert.equal(submitted.status, 200, await submitted.text());
  await waitFor("the job runner to log the job", () => linesWith(runner.output, jobId).length > 0, 10_000);
  assert.ok(
    linesWith(runner.output, jobId).every((l) => l.reqId === jobId && l.service === "job-runner"),
    runner.output.slice(-1500),
  );

  // An id a client should not choose is replaced by one of the gateway's.
  const odd = await signedRequest(endpoint, {
    method: "GET",
    path: "/ids/object",
    headers: { "x-request-id": "no spaces allowed" },
    ...TEST_CREDENTIALS,
  });
  assert.match(String(odd.headers["x-amz-request-id"]), /^[0-9A-F]{16}$/);

  // A 5xx is logged once, with its id and cause: metadata gone, a PUT answers 503 and the gateway says why.
  await metadata.kill9();
  const failing = "test-503-0123456789";
  const refused = await putWithId("another", failing);
  assert.equal(refused.status, 503);
  const warnings = () => linesWith(gateway.output, failing).filter((l) => (l.level as number) >= 40);
  // The line reaches this process through the gateway's stdout pipe, which may lag behind its HTTP answer.
  await waitFor("the 503 to be logged", () => warnings().length > 0, 5_000).catch(() => {});
  const warned = warnings();
  assert.equal(warned.length, 1, JSON.stringify(warned));
  assert.match(String(warned[0]?.msg), /metadata|service answers|reach/i);
});
