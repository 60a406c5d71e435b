import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { connect, type NatsServer, startNatsServer } from "@koine/bus";
import { bootCluster } from "@koine/launcher";
import { freePort, onCleanup, tempDir } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";
import { jetstreamManager } from "@nats-io/jetstream";

test("NATS cluster - 3 servers, streams and buckets with 3 replicas; one server killed, koine keeps serving and loses nothing", async (t) => {
  const clientPorts = [await freePort(), await freePort(), await freePort()];
  const routePorts = [await freePort(), await freePort(), await freePort()];
  const servers: NatsServer[] = await Promise.all(
    clientPorts.map(async (port, i) =>
      startNatsServer({
        storeDir: await tempDir(t, `koine-nats${i}-`),
        port,
        cluster: {
          name: "koine",
          serverName: `nats${i}`,
          port: routePorts[i] as number,
          routes: routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`),
        },
      }),
    ),
  );
  for (const s of servers) onCleanup(t, () => s.stop());
  const natsUrl = servers.map((s) => s.url).join(",");
  const cluster = await bootCluster(t, { natsUrl });

  const nc = await connect({ servers: natsUrl, name: "test" });
  onCleanup(t, () => nc.close());
  const jsm = await jetstreamManager(nc);
  for (const stream of ["KV_koine-members", "KV_koine-jobs", "KOINE_JOBS"]) {
    assert.equal((await jsm.streams.info(stream)).config.num_replicas, 3, stream);
  }

  const s3 = s3Client(cluster.s3Url);
  await s3.send(new CreateBucketCommand({ Bucket: "ha-test" }));
  const written = new Map<string, Buffer>();
  const put = async (key: string) => {
    const body = randomBytes(1024 + Math.floor(Math.random() * 200_000));
    await s3.send(new PutObjectCommand({ Bucket: "ha-test", Key: key, Body: body }));
    written.set(key, body); // acknowledged
  };
  for (let i = 0; i < 20; i++) await put(`before/${i}`);

  // Kill one server outright; clients on it move to the others.
  servers[1]?.process.kill("SIGKILL");
  for (let i = 0; i < 20; i++) await put(`after/${i}`);
  for (const [key, body] of written) {
    const got = await s3.send(new GetObjectCommand({ Bucket: "ha-test", Key: key }));
    const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    assert.ok(bytes.equals(body), key);
  }
  assert.equal(written.size, 40);
});
