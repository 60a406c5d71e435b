import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { onCleanup, type TestContext } from "@koine/testkit";
import { s3Client, s3Outcome } from "@koine/testkit/clients";

const run = promisify(execFile);
const KOINE = join(import.meta.dirname, "..", "scripts", "koine.ts");

test("users - seeded and managed users, bucket owners, and other users' buckets refused", async (t) => {
  const cluster = await bootCluster(t, {
    users: [
      { accessKey: "koine", secretKey: "koinesecret", admin: true },
      { accessKey: "alice", secretKey: "alice-secret" },
    ],
  });
  const koine = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", KOINE, ...args], {
      env: { ...process.env, KOINE_ADMIN_URL: cluster.adminUrl },
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
  assert.equal(await s3Outcome(alice.send(new CreateBucketCommand({ Bucket: "alices" }))), "ok", "us-east-1 answers its owner 200");
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

/** A cluster with two users, and a client for each. */
async function aliceAndBob(t: TestContext) {
  const cluster = await bootCluster(t, {
    users: [
      { accessKey: "koine", secretKey: "koinesecret", admin: true },
      { accessKey: "alice", secretKey: "alice-secret" },
      { accessKey: "bobby", secretKey: "bobby-secret" },
    ],
  });
  const alice = s3Client(cluster.s3Url, { accessKeyId: "alice", secretAccessKey: "alice-secret" });
  const bob = s3Client(cluster.s3Url, { accessKeyId: "bobby", secretAccessKey: "bobby-secret" });
  onCleanup(t, () => {
    alice.destroy();
    bob.destroy();
  });
  return { cluster, alice, bob };
}

test("users - canned ACLs as AWS reads them: a public-read bucket is listed by anyone, a public-read object read by anyone, nothing else", async (t) => {
  const { cluster, alice, bob } = await aliceAndBob(t);
  const anonymous = (method: string, path: string, body?: string) =>
    fetch(`${cluster.s3Url}${path}`, { method, ...(body === undefined ? {} : { body }) }).then(async (r) =>
      `${r.status} ${/<Code>(\w+)</.exec(await r.text())?.[1] ?? ""}`.trim(),
    );

  await alice.send(new CreateBucketCommand({ Bucket: "pub", ACL: "public-read" }));
  await alice.send(new PutObjectCommand({ Bucket: "pub", Key: "doc", Body: "for all" }));
  await alice.send(new CreateBucketCommand({ Bucket: "priv" }));
  await alice.send(new PutObjectCommand({ Bucket: "priv", Key: "open", Body: "one open object", ACL: "public-read" }));
  await alice.send(new PutObjectCommand({ Bucket: "priv", Key: "closed", Body: "secret" }));

  assert.equal(await anonymous("GET", "/pub/doc"), "403 AccessDenied", "a bucket's READ grant lists its keys, reads none");
  assert.equal(await anonymous("GET", "/pub?list-type=2"), "200");
  assert.equal(await anonymous("PUT", "/pub/new", "x"), "403 AccessDenied");
  assert.equal(await anonymous("DELETE", "/pub/doc"), "403 AccessDenied");
  assert.equal(await anonymous("GET", "/priv/open"), "200");
  assert.equal(await anonymous("GET", "/priv/closed"), "403 AccessDenied");
  assert.equal(await anonymous("GET", "/priv?list-type=2"), "403 AccessDenied");
  assert.equal(await anonymous("GET", "/"), "403 AccessDenied");
  assert.equal(await anonymous("GET", "/pub/doc?acl"), "403 AccessDenied");

  assert.equal((await bob.send(new ListObjectsV2Command({ Bucket: "pub" }))).KeyCount, 1);
  assert.equal(await s3Outcome(bob.send(new GetObjectCommand({ Bucket: "pub", Key: "doc" }))), "403 AccessDenied");
  assert.equal(await s3Outcome(bob.send(new PutObjectCommand({ Bucket: "pub", Key: "mine", Body: "no" }))), "403 AccessDenied");

  const bucketAcl = await alice.send(new GetBucketAclCommand({ Bucket: "pub" }));
  assert.equal(bucketAcl.Owner?.ID, "alice");
  assert.deepEqual(
    bucketAcl.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.ID ?? g.Grantee?.URI, g.Permission]),
    [
      ["CanonicalUser", "alice", "FULL_CONTROL"],
      ["Group", "http://acs.amazonaws.com/groups/global/AllUsers", "READ"],
    ],
  );
  const objectAcl = await alice.send(new GetObjectAclCommand({ Bucket: "priv", Key: "closed" }));
  assert.deepEqual(
    objectAcl.Grants?.map((g) => g.Permission),
    ["FULL_CONTROL"],
  );

  await alice.send(new PutObjectAclCommand({ Bucket: "priv", Key: "closed", ACL: "public-read" }));
  assert.equal(await anonymous("GET", "/priv/closed"), "200");
  await alice.send(new PutBucketAclCommand({ Bucket: "pub", ACL: "private" }));
  assert.equal(await anonymous("GET", "/pub?list-type=2"), "403 AccessDenied");
  // authenticated-read: every signed-in user reads, nobody else.
  await alice.send(new PutObjectAclCommand({ Bucket: "priv", Key: "open", ACL: "authenticated-read" }));
  assert.equal(await anonymous("GET", "/priv/open"), "403 AccessDenied");
  assert.equal(await (await bob.send(new GetObjectCommand({ Bucket: "priv", Key: "open" }))).Body?.transformToString(), "one open object");
  assert.equal(
    await s3Outcome(alice.send(new PutObjectAclCommand({ Bucket: "priv", Key: "open", ACL: "aws-exec-read" as "private" }))),
    "501 NotImplemented",
  );
});

test("users - a copy reads its source as a GET would: another user's private object cannot be copied, whole or as a part", async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  await alice.send(new CreateBucketCommand({ Bucket: "alice-private" }));
  await alice.send(new PutObjectCommand({ Bucket: "alice-private", Key: "secret", Body: "alice's secret" }));
  await alice.send(new PutObjectCommand({ Bucket: "alice-private", Key: "shared", Body: "for all", ACL: "public-read" }));
  await bob.send(new CreateBucketCommand({ Bucket: "bob-bucket" }));

  const copy = (CopySource: string) => s3Outcome(bob.send(new CopyObjectCommand({ Bucket: "bob-bucket", Key: "stolen", CopySource })));
  assert.equal(await copy("alice-private/secret"), "403 AccessDenied");
  assert.equal(await copy("alice-private/no-such-key"), "403 AccessDenied", "nor learns which keys exist");
  assert.equal(await copy("alice-private/shared"), "ok", "a public-read object may be copied");
  assert.equal(await copy("no-such-bucket/x"), "404 NoSuchBucket");

  const upload = await bob.send(new CreateMultipartUploadCommand({ Bucket: "bob-bucket", Key: "parts" }));
  const partCopy = (CopySource: string) =>
    s3Outcome(
      bob.send(new UploadPartCopyCommand({ Bucket: "bob-bucket", Key: "parts", UploadId: upload.UploadId, PartNumber: 1, CopySource })),
    );
  assert.equal(await partCopy("alice-private/secret"), "403 AccessDenied");
  assert.equal(await partCopy("alice-private/shared"), "ok");

  const stolen = await bob.send(new GetObjectCommand({ Bucket: "bob-bucket", Key: "stolen" }));
  assert.equal(await stolen.Body?.transformToString(), "for all", "only the public object was copied");
  assert.equal(
    await s3Outcome(alice.send(new CopyObjectCommand({ Bucket: "alice-private", Key: "copy", CopySource: "alice-private/secret" }))),
    "ok",
  );
});
