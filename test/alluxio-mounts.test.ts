import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { natsCredentials } from "@koine/access";
import { connect, request } from "@koine/bus";
import { bootCluster } from "@koine/launcher";
import { Meta } from "@koine/protocol";
import { onCleanup, tempDir, waitFor } from "@koine/testkit";
import {
  adminCall,
  alluxioCall,
  alluxioOk,
  alluxioRead,
  alluxioWrite,
  s3Client,
  s3Outcome,
  TEST_CREDENTIALS,
} from "@koine/testkit/clients";

const names = (statuses: unknown) => (statuses as { name: string }[]).map((s) => s.name).sort();

const paths = (statuses: unknown) => (statuses as { path: string }[]).map((s) => s.path).sort();

test("mounts - a local directory with existing files: listed, read cold then warm, written through, synced, read-only, unmounted", async (t) => {
  const ufs = await tempDir(t, "koine-mounted-");
  const big = randomBytes(3 * 1024 * 1024 + 17);
  await mkdir(join(ufs, "sub", "deep"), { recursive: true });
  await writeFile(join(ufs, "a.txt"), "hello from the under-store");
  await writeFile(join(ufs, "sub", "b.bin"), big);
  await writeFile(join(ufs, "sub", "deep", "c.txt"), "deep");
  const cluster = await bootCluster(t, { pageSize: 1024 * 1024 });
  const base = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  const src = encodeURIComponent(pathToFileURL(ufs).href);
  await alluxioOk(base, `/data/mount?src=${src}`, { properties: { "alluxio.user.file.metadata.sync.interval": "300ms" } });

  // Existing content shows up, lazily loaded: children, then the whole tree.
  assert.deepEqual(names(await alluxioOk(base, "/data/list-status")), ["a.txt", "sub"]);
  assert.deepEqual(paths(await alluxioOk(base, "/data/list-status", { recursive: true })), [
    "/data/a.txt",
    "/data/sub",
    "/data/sub/b.bin",
    "/data/sub/deep",
    "/data/sub/deep/c.txt",
  ]);
  const mountPoint = (await alluxioOk(base, "/data/get-status")) as { mountPoint: boolean; ufsPath: string };
  assert.equal(mountPoint.mountPoint, true);
  const status = (await alluxioOk(base, "/data/sub/b.bin/get-status")) as Record<string, unknown>;
  assert.equal(status.length, big.length);
  assert.equal(status.persisted, true);
  assert.equal(status.ufsPath, join(ufs, "sub", "b.bin"));

  // Cold from the under-store, then warm from the cache.
  const cold = node.stats();
  assert.ok((await alluxioRead(base, "/data/sub/b.bin")).equals(big));
  const warm = node.stats();
  assert.ok(warm.ufsReadBytes - cold.ufsReadBytes >= big.length, "the first read comes from the under-store");
  assert.ok((await alluxioRead(base, "/data/sub/b.bin")).equals(big));
  assert.equal(node.stats().ufsReadBytes, warm.ufsReadBytes, "the second read is served from the cache");
  assert.ok(node.stats().hits > warm.hits);

  // The same bytes through S3: the mount point is a bucket.
  const s3 = s3Client(cluster.s3Url);
  const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "sub/b.bin" }));
  assert.ok(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(big));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "data" }));
  assert.deepEqual(
    listed.Contents?.map((o) => o.Key),
    ["a.txt", "sub/b.bin", "sub/deep/c.txt"],
  );

  // Writes go through to the directory.
  await alluxioWrite(base, "/data/sub/new.txt", Buffer.from("written through koine"));
  assert.equal(await readFile(join(ufs, "sub", "new.txt"), "utf8"), "written through koine");
  await s3.send(new PutObjectCommand({ Bucket: "data", Key: "s3/put.txt", Body: "via s3" }));
  assert.equal(await readFile(join(ufs, "s3", "put.txt"), "utf8"), "via s3");

  // Changes made directly in the directory are seen after the sync interval.
  await writeFile(join(ufs, "added.txt"), "added behind koine's back");
  await writeFile(join(ufs, "a.txt"), "changed behind koine's back, and longer");
  await rm(join(ufs, "sub", "deep", "c.txt"));
  await sleep(400);
  assert.ok(names(await alluxioOk(base, "/data/list-status")).includes("added.txt"));
  assert.equal((await alluxioRead(base, "/data/added.txt")).toString(), "added behind koine's back");
  assert.equal((await alluxioRead(base, "/data/a.txt")).toString(), "changed behind koine's back, and longer");
  assert.deepEqual(names(await alluxioOk(base, "/data/sub/deep/list-status")), []);
  // A file the namespace never listed is found by its path at once (loadMetadataType ONCE).
  await writeFile(join(ufs, "sub", "direct.txt"), "direct");
  assert.equal((await alluxioCall(base, "/data/sub/direct.txt/get-status", { loadMetadataType: "ALWAYS" })).status, 200);
  // NEVER answers from the namespace alone.
  await writeFile(join(ufs, "sub", "never.txt"), "never");
  assert.equal((await alluxioCall(base, "/data/sub/never.txt/get-status", { loadMetadataType: "NEVER" })).code, "NOT_FOUND");

  // Deleting through koine deletes in the directory.
  await alluxioOk(base, "/data/sub/new.txt/delete");
  await assert.rejects(stat(join(ufs, "sub", "new.txt")), { code: "ENOENT" });

  // Mount rules, as Alluxio's.
  const other = await tempDir(t, "koine-other-");
  const otherSrc = encodeURIComponent(pathToFileURL(other).href);
  assert.equal((await alluxioCall(base, `/data/sub/inner/mount?src=${otherSrc}`)).code, "INVALID_ARGUMENT", "no mount inside a mount");
  assert.equal(
    (await alluxioCall(base, `/elsewhere/mount?src=${encodeURIComponent(pathToFileURL(join(ufs, "sub")).href)}`)).code,
    "INVALID_ARGUMENT",
  );
  await alluxioOk(base, "/taken/create-directory");
  assert.equal((await alluxioCall(base, `/taken/mount?src=${otherSrc}`)).code, "ALREADY_EXISTS");
  const missing = encodeURIComponent(pathToFileURL(join(other, "missing")).href);
  assert.equal((await alluxioCall(base, `/nothing/mount?src=${missing}`)).code, "INVALID_ARGUMENT");
  assert.equal((await alluxioCall(base, "/nothing/mount")).code, "INVALID_ARGUMENT", "src is required");
  assert.equal((await alluxioCall(base, "/data/sub/unmount")).code, "INVALID_ARGUMENT", "only a mount point unmounts");
  assert.equal(
    (await alluxioCall(base, "/data/delete", { recursive: true })).code,
    "INVALID_ARGUMENT",
    "a mount point is unmounted, not deleted",
  );

  // A read-only mount reads and refuses every change.
  await writeFile(join(other, "kept.txt"), "kept");
  await alluxioOk(base, `/ro/mount?src=${otherSrc}`, { readOnly: true });
  assert.equal((await alluxioRead(base, "/ro/kept.txt")).toString(), "kept");
  assert.equal((await alluxioCall(base, "/ro/x.txt/create-file")).code, "PERMISSION_DENIED");
  assert.equal((await alluxioCall(base, "/ro/d/create-directory")).code, "PERMISSION_DENIED");
  assert.equal((await alluxioCall(base, "/ro/kept.txt/delete")).code, "PERMISSION_DENIED");
  assert.equal((await alluxioCall(base, "/ro/kept.txt/rename?dst=%2Fro%2Fmoved.txt")).code, "PERMISSION_DENIED");
  assert.equal(await s3Outcome(s3.send(new PutObjectCommand({ Bucket: "ro", Key: "y.txt", Body: "no" }))), "403 AccessDenied");
  assert.equal(await readFile(join(other, "kept.txt"), "utf8"), "kept");
  await assert.rejects(stat(join(other, "y.txt")), { code: "ENOENT" });

  // Unmounting hides the files and leaves every byte in the directory.
  await alluxioOk(base, "/data/unmount");
  assert.equal((await alluxioCall(base, "/data/sub/b.bin/get-status")).code, "NOT_FOUND");
  assert.equal(await alluxioOk(base, "/data/exists"), false);
  assert.ok((await readFile(join(ufs, "sub", "b.bin"))).equals(big));
  await alluxioOk(base, "/ro/unmount");
});

test("mounts - an S3 bucket on a second koine cluster: listed, read cold then warm, written through, synced, unmounted; its secret kept sealed", async (t) => {
  // The remote's keys are the mount's credentials: a secret that must never show up in this cluster's replies or files.
  const remoteKeys = { accessKeyId: "remote-admin", secretAccessKey: "remote-secret-do-not-leak" };
  const remote = await bootCluster(t, {
    users: [{ accessKey: remoteKeys.accessKeyId, secretKey: remoteKeys.secretAccessKey, admin: true }],
  });
  const remoteS3 = s3Client(remote.s3Url, remoteKeys);
  await remoteS3.send(new CreateBucketCommand({ Bucket: "src" }));
  const two = randomBytes(2 * 1024 * 1024 + 3);
  await remoteS3.send(new PutObjectCommand({ Bucket: "src", Key: "x/one.txt", Body: "one" }));
  await remoteS3.send(new PutObjectCommand({ Bucket: "src", Key: "two.bin", Body: two }));

  const cluster = await bootCluster(t, { pageSize: 1024 * 1024 });
  const base = cluster.alluxioUrl;
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  const properties = {
    "alluxio.underfs.s3.endpoint": remote.s3Url,
    "alluxio.underfs.s3.disable.dns.buckets": "true",
    "aws.accessKeyId": remoteKeys.accessKeyId,
    "aws.secretKey": remoteKeys.secretAccessKey,
    "alluxio.user.file.metadata.sync.interval": "300ms",
  };
  assert.equal(
    (await alluxioCall(base, "/remote/mount?src=s3%3A%2F%2Fnope%2F", { properties })).code,
    "INVALID_ARGUMENT",
    "a missing bucket",
  );
  await alluxioOk(base, "/remote/mount?src=s3%3A%2F%2Fsrc%2F", { properties });
  // The secret is sealed where it is kept and wherever the mount table travels.
  const gateway = await connect({ servers: cluster.natsUrl, name: "test", auth: natsCredentials(cluster.clusterKey, "s3-gateway") });
  onCleanup(t, () => gateway.close());
  const table = JSON.stringify(await request(gateway, Meta.mounts, {}));
  assert.ok(table.includes("sealed:") && !table.includes(remoteKeys.secretAccessKey), "the mount table over NATS holds it sealed");
  assert.doesNotMatch(JSON.stringify((await adminCall(cluster.adminUrl, "GET", "/api/v1/mount")).json), /remote-secret/);
  const metadataFiles = await readdir(join(cluster.home, "metadata"));
  const stored = await Promise.all(metadataFiles.map((f) => readFile(join(cluster.home, "metadata", f))));
  assert.ok(
    stored.some((bytes) => bytes.includes(remote.s3Url)),
    "the scan sees what the mount table keeps in the clear",
  );
  for (const file of metadataFiles) {
    const bytes = await readFile(join(cluster.home, "metadata", file));
    assert.equal(bytes.indexOf(remoteKeys.secretAccessKey), -1, `${file} holds the mount's secret`);
    assert.equal(bytes.indexOf(TEST_CREDENTIALS.secretAccessKey), -1, `${file} holds a user's secret`);
  }

  assert.deepEqual(names(await alluxioOk(base, "/remote/list-status")), ["two.bin", "x"]);
  assert.deepEqual(names(await alluxioOk(base, "/remote/x/list-status")), ["one.txt"]);
  const status = (await alluxioOk(base, "/remote/two.bin/get-status")) as Record<string, unknown>;
  assert.equal(status.length, two.length);
  assert.equal(status.ufsPath, "s3://src/two.bin");

  const cold = node.stats();
  assert.ok((await alluxioRead(base, "/remote/two.bin")).equals(two));
  const warm = node.stats();
  assert.ok(warm.ufsReadBytes - cold.ufsReadBytes >= two.length);
  assert.ok((await alluxioRead(base, "/remote/two.bin")).equals(two));
  assert.equal(node.stats().ufsReadBytes, warm.ufsReadBytes, "warm reads come from the cache");
  // And through this cluster's S3.
  const s3 = s3Client(cluster.s3Url);
  const got = await s3.send(new GetObjectCommand({ Bucket: "remote", Key: "x/one.txt" }));
  assert.equal(await (got.Body as { transformToString(): Promise<string> }).transformToString(), "one");

  // Writes go through to the bucket (THROUGH: nothing kept in the cache).
  await alluxioWrite(base, "/remote/x/new.txt", Buffer.from("through to the remote"), { writeType: "THROUGH" });
  const remoteNew = await remoteS3.send(new GetObjectCommand({ Bucket: "src", Key: "x/new.txt" }));
  assert.equal(await (remoteNew.Body as { transformToString(): Promise<string> }).transformToString(), "through to the remote");
  const staged = await remoteS3.send(new ListObjectsV2Command({ Bucket: "src", Prefix: "x/" }));
  assert.deepEqual(
    staged.Contents?.map((o) => o.Key),
    ["x/new.txt", "x/one.txt"],
    "no staged object is left behind",
  );
  // Any key: "", "." and ".." are names in the bucket as in koine, and a folder object's bytes are its own key's.
  const anyKeys = ["x//y", "x/../y", "x/"];
  for (const Key of anyKeys) await s3.send(new PutObjectCommand({ Bucket: "remote", Key, Body: `any ${Key}` }));
  for (const Key of anyKeys) {
    const there = await remoteS3.send(new GetObjectCommand({ Bucket: "src", Key }));
    assert.equal(await (there.Body as { transformToString(): Promise<string> }).transformToString(), `any ${Key}`, Key);
    const here = await s3.send(new GetObjectCommand({ Bucket: "remote", Key }));
    assert.equal(await (here.Body as { transformToString(): Promise<string> }).transformToString(), `any ${Key}`, Key);
  }
  const inX = await s3.send(new ListObjectsV2Command({ Bucket: "remote", Prefix: "x/", Delimiter: "/" }));
  assert.deepEqual(
    [inX.Contents?.map((o) => o.Key), inX.CommonPrefixes?.map((p) => p.Prefix)],
    [
      ["x/", "x/new.txt", "x/one.txt"],
      ["x/../", "x//"],
    ],
  );
  for (const Key of anyKeys) await s3.send(new DeleteObjectCommand({ Bucket: "remote", Key }));
  assert.deepEqual(
    (await remoteS3.send(new ListObjectsV2Command({ Bucket: "src", Prefix: "x/" }))).Contents?.map((o) => o.Key),
    ["x/new.txt", "x/one.txt"],
  );

  // An object put straight into the bucket appears after the sync interval.
  await remoteS3.send(new PutObjectCommand({ Bucket: "src", Key: "later.txt", Body: "later" }));
  await waitFor("later.txt in the listing", async () => names(await alluxioOk(base, "/remote/list-status")).includes("later.txt"));
  assert.equal((await alluxioRead(base, "/remote/later.txt")).toString(), "later");

  // Deleting through koine deletes in the bucket.
  await alluxioOk(base, "/remote/two.bin/delete");
  assert.equal(await s3Outcome(remoteS3.send(new HeadObjectCommand({ Bucket: "src", Key: "two.bin" }))), "404 NotFound");

  // No second mount of the same bucket inside the first one.
  assert.equal((await alluxioCall(base, "/again/mount?src=s3%3A%2F%2Fsrc%2Fx", { properties })).code, "INVALID_ARGUMENT");
  await alluxioOk(base, "/remote/unmount");
  assert.equal(await alluxioOk(base, "/remote/x/one.txt/exists"), false);
  const still = await remoteS3.send(new GetObjectCommand({ Bucket: "src", Key: "x/one.txt" }));
  assert.equal(await (still.Body as { transformToString(): Promise<string> }).transformToString(), "one");
});
