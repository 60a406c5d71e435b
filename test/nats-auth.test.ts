import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { natsCredentials } from "@koine/access";
import { connect, findNatsServer, Journal, openKv, request, stepDownStreamLeader } from "@koine/bus";
import { bootCluster } from "@koine/launcher";
import { JOURNAL_STREAM, JOURNAL_SUBJECT, Meta, SERVICE_FORGET_MS, SERVICE_ROLES, SERVICES_BUCKET, shardEndpoint } from "@koine/protocol";
import { freePort, onCleanup, tempDir, testTls, waitFor } from "@koine/testkit";
import { adminCall, alluxioCall, s3Client, TEST_CREDENTIALS } from "@koine/testkit/clients";

test("NATS - no credentials, no entry; each service's credentials reach only its role's subjects; no reply carries a secret", async (t) => {
  const cluster = await bootCluster(t, {
    users: [
      { accessKey: "koine", secretKey: "koinesecret", admin: true },
      { accessKey: "alice", secretKey: "alice-secret-key" },
    ],
  });
  const as = (role: Parameters<typeof natsCredentials>[1]) =>
    connect({ servers: cluster.natsUrl, name: `test-as-${role}`, auth: natsCredentials(cluster.clusterKey, role) });

  // Strangers are refused at the door.
  await assert.rejects(connect({ servers: cluster.natsUrl, name: "stranger" }), /Authorization|authorization/);
  await assert.rejects(
    connect({ servers: cluster.natsUrl, name: "guesser", auth: { user: "s3-gateway", pass: "not-the-password" } }),
    /Authorization|authorization/,
  );

  // Everything that travels as a reply (and every event) is watched from here on: job-runner credentials hear every inbox.
  const observer = await as("job-runner");
  t.after(() => observer.close());
  const heard: string[] = [];
  observer.subscribe("_INBOX.>", {
    callback: (_err, msg) => {
      heard.push(msg.string());
    },
  });
  observer.subscribe("koine.events.>", {
    callback: (_err, msg) => {
      heard.push(msg.string());
    },
  });
  await observer.flush();

  const gateway = await as("s3-gateway");
  t.after(() => gateway.close());
  // A gateway may read the namespace and the sealed credentials, not manage users or mounts.
  assert.equal((await request(gateway, Meta.stat, { path: "/" })).path, "/");
  const { credentials } = await request(gateway, Meta.credentials, {});
  assert.ok(credentials.some((c) => c.accessKey === "alice"));
  await assert.rejects(
    request(gateway, Meta.putUser, { accessKey: "intruder", secretKey: "intruder-secret", admin: true }),
    /may not call/,
  );
  await assert.rejects(request(gateway, Meta.removeUser, { accessKey: "alice" }), /may not call/);
  await assert.rejects(request(gateway, Meta.mount, { path: "/etc", uri: "file:///etc" }), /may not call/);
  // Nor by the subject another shard answers it on.
  await assert.rejects(request(gateway, shardEndpoint(Meta.mount, 1), { path: "/etc", uri: "file:///etc" }), /may not call/);
  // Nor answer metadata's requests in its place.
  const impostor = gateway.subscribe("koine.meta.>");
  assert.match(String(await impostor.closed), /Permissions Violation for Subscription/);
  // Nor write metadata's journal (what every metadata replays): only metadata appends to it.
  const journal = await Journal.open(gateway, { stream: JOURNAL_STREAM, subject: JOURNAL_SUBJECT });
  await assert.rejects(journal.append(Buffer.from(JSON.stringify([{ op: "delete", args: ["/"], at: 0 }]))), /Permissions Violation/);
  // Nor move the journal's leader (which stalls appends while the stream elects another).
  await assert.rejects(stepDownStreamLeader(gateway, JOURNAL_STREAM), /Permissions Violation/);
  // It announces itself, as an S3 gateway only: another role's entry in the services bucket is not its to write.
  const services = await openKv(gateway, SERVICES_BUCKET, { ttlMs: SERVICE_FORGET_MS });
  await services.put("s3-gateway.test", "{}");
  await assert.rejects(services.put("metadata.forged", "{}"), /Permissions Violation/);

  // A cache node may not read users' sealed secrets.
  const node = await as("cache-node");
  t.after(() => node.close());
  await assert.rejects(request(node, Meta.credentials, {}), /may not call/);
  await assert.rejects(request(node, Meta.putUser, { accessKey: "intruder", secretKey: "intruder-secret" }), /may not call/);

  // The workload: users added (one secret given, one generated), listed; S3 and Alluxio traffic as alice.
  const given = await adminCall(cluster.adminUrl, "POST", "/api/v1/users", {
    accessKey: "carol",
    secretKey: "carol-secret-key",
    groups: ["team"],
  });
  assert.equal(given.status, 200);
  assert.equal(given.json.secretKey, undefined, "a secret the admin gave is not echoed");
  const generated = await adminCall(cluster.adminUrl, "POST", "/api/v1/users", { accessKey: "dave" });
  const daveSecret = generated.json.secretKey as string;
  assert.ok(daveSecret.length >= 24, "a generated secret is shown this once");
  const listed = await adminCall(cluster.adminUrl, "GET", "/api/v1/users");
  assert.deepEqual(
    (listed.json.results as { accessKey: string }[]).map((u) => u.accessKey),
    ["alice", "carol", "dave", "koine"],
  );
  const alice = s3Client(cluster.s3Url, { accessKeyId: "alice", secretAccessKey: "alice-secret-key" });
  t.after(() => alice.destroy());
  await alice.send(new CreateBucketCommand({ Bucket: "alices" }));
  await alice.send(new PutObjectCommand({ Bucket: "alices", Key: "k", Body: "x" }));
  const dave = s3Client(cluster.s3Url, { accessKeyId: "dave", secretAccessKey: daveSecret });
  t.after(() => dave.destroy());
  await dave.send(new ListBucketsCommand({}));
  assert.equal(
    (
      await alluxioCall(cluster.alluxioUrl, "/alices/k/get-status", undefined, {
        accessKeyId: "alice",
        secretAccessKey: "alice-secret-key",
      })
    ).status,
    200,
  );
  await observer.flush();

  assert.ok(heard.length > 10, `${heard.length} replies and events heard`);
  for (const secret of ["koinesecret", "alice-secret-key", "carol-secret-key", daveSecret]) {
    assert.ok(!heard.some((m) => m.includes(secret)), `a reply or event carried the secret ${secret}`);
  }
  assert.ok(!JSON.stringify(listed.json).includes("secret"), "the admin API's user list names no secret");
});

test("NATS - scripts/koine nats-config prints a server configuration that lets each service in, and nobody else", async (t) => {
  const key = randomBytes(32);
  const dir = await tempDir(t, "koine-nats-config-");
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "..", "scripts", "koine.ts"), "nats-config"],
    {
      env: { ...process.env, KOINE_CLUSTER_KEY: key.toString("hex") },
    },
  );
  assert.doesNotMatch(stdout, new RegExp(key.toString("hex")), "the cluster key itself is not in it");
  await writeFile(join(dir, "nats.conf"), stdout);
  const port = await freePort();
  const server = spawn(findNatsServer(), ["-c", join(dir, "nats.conf"), "-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  onCleanup(t, () => server.kill("SIGKILL"));
  const url = `nats://127.0.0.1:${port}`;
  await waitFor(
    "the server",
    async () =>
      (await connect({ servers: url, name: "probe", auth: natsCredentials(key, "metadata") }).then(
        (nc) => nc.close(),
        () => false,
      )) !== false,
  );
  await assert.rejects(connect({ servers: url, name: "stranger" }), /uthorization/);
  for (const role of SERVICE_ROLES) {
    const nc = await connect({ servers: url, name: role, auth: natsCredentials(key, role) });
    await nc.close();
  }
});

test("NATS - with a certificate configured the cluster's NATS speaks TLS only: a client not trusting the CA is refused, one trusting it gets in", async (t) => {
  const { tls } = await testTls(t);
  const cluster = await bootCluster(t, { tls, remoteCacheNodes: true });
  const auth = natsCredentials(cluster.clusterKey, "alluxio-admin");
  // Without the CA the server's certificate is not trusted; there is no plain-text way in.
  await assert.rejects(connect({ servers: cluster.natsUrl, name: "untrusting", auth }));
  const nc = await connect({ servers: cluster.natsUrl, name: "trusting", auth, ca: tls.ca });
  t.after(() => nc.close());
  assert.equal(nc.info?.tls_required, true);
  // And the services, on it, serve: a round trip through S3 over https.
  const s3 = s3Client(cluster.s3Url, TEST_CREDENTIALS, 1, tls.ca);
  t.after(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "tls" }));
  await s3.send(new PutObjectCommand({ Bucket: "tls", Key: "k", Body: "over tls" }));
  assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: "tls", Key: "k" }))).Body?.transformToString(), "over tls");
});

test("users - the admin API's user, metadata, services, overview and object endpoints are an admin's (on the console's port too): a user or a stranger is refused, bad input is a 400", async (t) => {
  const cluster = await bootCluster(t, {
    users: [
      { accessKey: "koine", secretKey: "koinesecret", admin: true },
      { accessKey: "alice", secretKey: "alice-secret-key" },
    ],
  });
  const alice = { accessKeyId: "alice", secretAccessKey: "alice-secret-key" };
  assert.equal((await adminCall(cluster.adminUrl, "GET", "/api/v1/users", undefined, alice)).status, 403);
  assert.equal((await adminCall(cluster.adminUrl, "POST", "/api/v1/users", { accessKey: "eve", admin: true }, alice)).status, 403);
  assert.equal((await adminCall(cluster.adminUrl, "POST", "/api/v1/users", { accessKey: "eve", admin: true }, "anonymous")).status, 401);
  // Metadata's status is an admin's too (it takes no input).
  assert.equal((await adminCall(cluster.adminUrl, "GET", "/api/v1/metadata", undefined, alice)).status, 403);
  assert.equal((await adminCall(cluster.adminUrl, "GET", "/api/v1/metadata", undefined, "anonymous")).status, 401);
  // So are the services, the overview and an object's detail, on the admin port and on the console's, which serves the same API.
  for (const base of [cluster.adminUrl, cluster.consoleUrl]) {
    for (const path of ["/api/v1/services", "/api/v1/overview", "/api/v1/object?path=/"]) {
      assert.equal((await adminCall(base, "GET", path, undefined, alice)).status, 403, `${base}${path}`);
      assert.equal((await adminCall(base, "GET", path, undefined, "anonymous")).status, 401, `${base}${path}`);
    }
    assert.equal((await adminCall(base, "GET", "/api/v1/object")).status, 400, "an object's detail needs its path");
    assert.equal((await adminCall(base, "GET", "/api/v1/object?path=relative")).status, 400, "a path in no mount");
    assert.equal((await adminCall(base, "GET", "/api/v1/object?path=/nowhere/x")).status, 404);
    assert.equal((await adminCall(base, "GET", "/api/v1/object?path=/")).status, 200);
  }
  // The console's own page takes no input and shows nothing of the cluster; its S3 is S3's, a stranger refused.
  assert.equal((await fetch(`${cluster.consoleUrl}/`)).status, 200);
  assert.match(await (await fetch(`${cluster.consoleUrl}/s3/`)).text(), /<Code>AccessDenied<\/Code>/);
  assert.equal((await adminCall(cluster.adminUrl, "POST", "/api/v1/users", { accessKey: "x" })).status, 400, "too short an access key");
  assert.equal((await adminCall(cluster.adminUrl, "POST", "/api/v1/users", { accessKey: "eve", secretKey: "short" })).status, 400);
  assert.equal((await adminCall(cluster.adminUrl, "DELETE", "/api/v1/users", { accessKey: "nobody" })).status, 404);
  assert.deepEqual(
    ((await adminCall(cluster.adminUrl, "GET", "/api/v1/users")).json.results as { accessKey: string }[]).map((u) => u.accessKey),
    ["alice", "koine"],
    "nothing was added",
  );
});
