import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster, s3Client, s3Outcome } from "@koine/testkit";

const run = promisify(execFile);
const KOINE = join(import.meta.dirname, "..", "scripts", "koine.ts");

test("users - seeded and managed users, bucket owners, and other users' buckets refused", async (t) => {
  const cluster = await bootCluster(t, {
    credentials: new Map([
      ["koine", "koinesecret"],
      ["alice", "alice-secret"],
    ]),
  });
  const koine = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", KOINE, ...args], {
      env: { ...process.env, KOINE_NATS_URL: cluster.natsUrl },
      timeout: 60_000,
    });

  const added = (await koine("user", "add", "bob", "bob-secret-1")).stdout;
  assert.match(added, /user bob added/);
  const generated = (await koine("user", "add", "carol")).stdout;
  const carolSecret = /secret key (\S+)/.exec(generated)?.[1] as string;
  assert.ok(carolSecret.length >= 24);
  assert.deepEqual(
    (await koine("user", "list")).stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t")[0]),
    ["alice", "bob", "carol", "koine"],
  );

  const alice = s3Client(cluster.s3Url, { accessKeyId: "alice", secretAccessKey: "alice-secret" });
  const bob = s3Client(cluster.s3Url, { accessKeyId: "bob", secretAccessKey: "bob-secret-1" });
  const carol = s3Client(cluster.s3Url, { accessKeyId: "carol", secretAccessKey: carolSecret });
  t.after(() => {
    for (const client of [alice, bob, carol]) client.destroy();
  });

  await alice.send(new CreateBucketCommand({ Bucket: "alices" }));
  await alice.send(new PutObjectCommand({ Bucket: "alices", Key: "k", Body: "private" }));
  await bob.send(new CreateBucketCommand({ Bucket: "bobs" }));
  assert.equal(await s3Outcome(alice.send(new CreateBucketCommand({ Bucket: "alices" }))), "409 BucketAlreadyOwnedByYou");
  assert.equal(await s3Outcome(bob.send(new CreateBucketCommand({ Bucket: "alices" }))), "409 BucketAlreadyExists");

  assert.equal(await s3Outcome(bob.send(new GetObjectCommand({ Bucket: "alices", Key: "k" }))), "403 AccessDenied");
  assert.equal(await s3Outcome(bob.send(new PutObjectCommand({ Bucket: "alices", Key: "x", Body: "no" }))), "403 AccessDenied");
  assert.equal(await s3Outcome(bob.send(new ListObjectsV2Command({ Bucket: "alices" }))), "403 AccessDenied");
  assert.equal(await s3Outcome(carol.send(new GetObjectCommand({ Bucket: "alices", Key: "k" }))), "403 AccessDenied");
  assert.deepEqual(
    (await bob.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name),
    ["bobs"],
  );
  assert.deepEqual(
    (await alice.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name),
    ["alices"],
  );
  const own = await alice.send(new GetObjectCommand({ Bucket: "alices", Key: "k" }));
  assert.equal(await own.Body?.transformToString(), "private");

  // A new secret and a removed user take effect at once.
  await koine("user", "add", "bob", "bob-secret-2");
  assert.equal(await s3Outcome(bob.send(new ListBucketsCommand({}))), "403 SignatureDoesNotMatch");
  await koine("user", "remove", "carol");
  assert.equal(await s3Outcome(carol.send(new ListBucketsCommand({}))), "403 InvalidAccessKeyId");
  await assert.rejects(koine("user", "remove", "nobody"), /no such user/);
});
