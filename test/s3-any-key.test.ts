import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { tempDir } from "@koine/testkit";
import {
  ADMIN_AND_BOB,
  alluxioKeyPath,
  alluxioOk,
  alluxioRead,
  alluxioReadAsIs,
  BOB,
  basicAuth,
  ozoneDate,
  requestAsIs,
  s3Client,
  s3Outcome,
  signedRequest,
  TEST_CREDENTIALS,
} from "@koine/testkit/clients";

async function text(s3: ReturnType<typeof s3Client>, Bucket: string, Key: string): Promise<string> {
  return (await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString()) ?? "";
}

test("s3 any key - a key and keys below it coexist; a local under-store holds both under reversible names, read back by a fresh mount", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "pairs";
  await s3.send(new CreateBucketCommand({ Bucket }));
  // File first, then keys below it; keys below first, then the file.
  for (const Key of ["a", "a/b", "c/d/e", "c", "c/d"]) await s3.send(new PutObjectCommand({ Bucket, Key, Body: `file ${Key}` }));
  for (const key of ["a", "a/b", "c", "c/d", "c/d/e"]) assert.equal(await text(s3, Bucket, key), `file ${key}`);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
  assert.deepEqual(
    listed.Contents?.map((c) => c.Key),
    ["a", "a/b", "c", "c/d", "c/d/e"],
  );
  const folded = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }));
  assert.deepEqual(
    [folded.Contents?.map((c) => c.Key), folded.CommonPrefixes?.map((p) => p.Prefix)],
    [
      ["a", "c"],
      ["a/", "c/"],
    ],
  );

  // The under-store: what came first keeps its plain name; the other is escaped.
  const root = join(cluster.home, "ufs", Bucket);
  assert.equal(readFileSync(join(root, "a"), "utf8"), "file a");
  assert.equal(readFileSync(join(root, ".koine-dir-a", "b"), "utf8"), "file a/b");
  assert.ok(statSync(join(root, "c")).isDirectory());
  assert.equal(readFileSync(join(root, ".koine-file-c"), "utf8"), "file c");
  assert.equal(readFileSync(join(root, "c", ".koine-file-d"), "utf8"), "file c/d");

  // The Alluxio view: /pairs/a is the file, /pairs/a/b below the directory; a listing shows both "a"s.
  assert.equal((await alluxioRead(cluster.alluxioUrl, `/${Bucket}/a`)).toString(), "file a");
  assert.equal((await alluxioRead(cluster.alluxioUrl, `/${Bucket}/a/b`)).toString(), "file a/b");
  const entries = (await alluxioOk<{ name: string; folder: boolean }[]>(cluster.alluxioUrl, `/${Bucket}/list-status`)).map(
    (e) => `${e.name}${e.folder ? "/" : ""}`,
  );
  assert.deepEqual(entries.sort(), ["a", "a/", "c", "c/"]);

  // The AIS view is flat: "a" and "a/b" are two objects of the bucket.
  const ais = (path: string) =>
    fetch(`${cluster.aisUrl}${path}?provider=ais`, { headers: basicAuth() }).then(async (r) => ({
      status: r.status,
      text: await r.text(),
    }));
  assert.deepEqual(await ais(`/v1/objects/${Bucket}/a`), { status: 200, text: "file a" });
  assert.deepEqual(await ais(`/v1/objects/${Bucket}/c/d`), { status: 200, text: "file c/d" });

  // A copy of the directory mounted afresh: the names read back as the keys they were.
  const copy = await tempDir(t, "koine-pairs-");
  cpSync(root, copy, { recursive: true });
  await alluxioOk(cluster.alluxioUrl, `/again/mount?src=${encodeURIComponent(pathToFileURL(copy).href)}`);
  const again = await s3.send(new ListObjectsV2Command({ Bucket: "again" }));
  assert.deepEqual(
    again.Contents?.map((c) => c.Key),
    ["a", "a/b", "c", "c/d", "c/d/e"],
  );
  assert.equal(await text(s3, "again", "c"), "file c");
  assert.equal(await text(s3, "again", "a/b"), "file a/b");
  await alluxioOk(cluster.alluxioUrl, "/again/unmount");

  // Deleting the file leaves the keys below it, and the other way round.
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "a" }));
  assert.equal(existsSync(join(root, "a")), false);
  assert.equal(await text(s3, Bucket, "a/b"), "file a/b");
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "c/d/e" }));
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "c/d" }));
  assert.equal(await text(s3, Bucket, "c"), "file c");
  assert.deepEqual(
    (await s3.send(new ListObjectsV2Command({ Bucket }))).Contents?.map((c) => c.Key),
    ["a/b", "c"],
  );
});

test("s3 any key - empty, '.' and '..' segments are names and a key ending in '/' holds bytes: in every dialect, and inside the under-store", async (t) => {
  const cluster = await bootCluster(t, ADMIN_AND_BOB);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "steps";
  await s3.send(new CreateBucketCommand({ Bucket }));
  // Each key, and where a local under-store keeps it (names a file system cannot hold are escaped).
  const stored: Record<string, string> = {
    "x//y": "x/.koine-empty/y",
    "x/./y": "x/.koine-dot/y",
    "x/../y": "x/.koine-dotdot/y",
    "x/..": "x/.koine-file-.koine-dotdot",
    "../up": ".koine-dotdot/up",
    "/lead": ".koine-empty/lead",
    "x/": "x/.koine-folder",
    "x//": "x/.koine-empty/.koine-folder",
    "/": ".koine-empty/.koine-folder",
    "//": ".koine-empty/.koine-empty/.koine-folder",
    "ozb/./y": "ozb/.koine-dot/y",
  };
  for (const Key of Object.keys(stored)) await s3.send(new PutObjectCommand({ Bucket, Key, Body: `bytes of ${Key}` }));
  // Dots the URL encodes are names too, however they are sent.
  for (const wirePath of [`/${Bucket}/%2e%2e/%2E%2E/escape`]) {
    const res = await signedRequest(cluster.s3Url, {
      method: "PUT",
      path: `/${Bucket}/../../escape`,
      wirePath,
      ...TEST_CREDENTIALS,
      body: "bytes of ../../escape",
    });
    assert.equal(res.status, 200, `${wirePath}: ${res.body}`);
  }
  stored["../../escape"] = ".koine-dotdot/.koine-dotdot/escape";
  const keys = Object.keys(stored);

  const root = join(cluster.home, "ufs", Bucket);
  for (const [key, at] of Object.entries(stored)) assert.equal(readFileSync(join(root, at), "utf8"), `bytes of ${key}`, key);
  assert.deepEqual(readdirSync(join(cluster.home, "ufs")), [Bucket], "nothing lands outside the bucket");
  for (const key of keys) assert.equal(await text(s3, Bucket, key), `bytes of ${key}`, key);
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "x/" }));
  assert.equal(head.ContentLength, "bytes of x/".length);

  // Listings in S3's order, by UTF-8 bytes.
  const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
  assert.deepEqual(
    listed.Contents?.map((c) => c.Key),
    [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  const inX = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "x/", Delimiter: "/" }));
  assert.deepEqual(
    [inX.Contents?.map((c) => c.Key), inX.CommonPrefixes?.map((p) => p.Prefix)],
    [
      ["x/", "x/.."],
      ["x/../", "x/./", "x//"],
    ],
  );

  // The Alluxio path of a key is /<bucket>/<key>, each name percent-encoded (dots as %2E, sent as is);
  // a trailing "/" opens the folder object.
  for (const key of keys) {
    assert.equal((await alluxioReadAsIs(cluster.alluxioUrl, alluxioKeyPath(Bucket, key))).toString(), `bytes of ${key}`, key);
  }
  const alluxioAsIs = (path: string, op: string) => requestAsIs(cluster.alluxioUrl, "POST", `/api/v1/paths${path}/${op}`, basicAuth());
  const status = JSON.parse((await alluxioAsIs(alluxioKeyPath(Bucket, "x/../y"), "get-status")).body.toString());
  assert.equal(status.path, `/${Bucket}/x/../y`);
  const names = JSON.parse((await alluxioAsIs(`/${Bucket}/x`, "list-status")).body.toString()) as { name: string; folder: boolean }[];
  assert.deepEqual(names.map((e) => `${e.name}${e.folder ? "/" : ""}`).sort(), ["..", "../", "./", "/"]);

  // AIS object names and Ozone keys are the same names.
  for (const key of keys) {
    // The proxy redirects to the target that holds the object.
    const redirect = await requestAsIs(cluster.aisUrl, "GET", `/v1/objects${alluxioKeyPath(Bucket, key)}?provider=ais`, basicAuth());
    const target = new URL(redirect.headers.location ?? "", cluster.aisUrl);
    const ais = await requestAsIs(target.origin, "GET", redirect.headers.location?.slice(target.origin.length) ?? "", basicAuth());
    assert.equal(ais.body.toString(), `bytes of ${key}`, `AIS ${key}`);
  }
  // Ozone: volume steps, bucket ozb, key "./y".
  const ozone = await requestAsIs(cluster.ozoneUrl, "GET", `/${Bucket}/ozb/%2E/y`, {
    "x-ozone-version": "v1",
    date: ozoneDate(),
    ...basicAuth(),
  });
  assert.equal(ozone.body.toString(), "bytes of ozb/./y");

  // A policy names each key as it is: "x/*" covers "x/", "x//y" and "x/../y", and no other key.
  const Resource = (key: string) => `arn:aws:s3:::${Bucket}/${key}`;
  const Policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { AWS: [BOB.accessKeyId] }, Action: ["s3:GetObject"], Resource: Resource("*") },
      { Effect: "Deny", Principal: "*", Action: ["s3:GetObject"], Resource: Resource("x/*") },
    ],
  });
  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy }));
  const bob = s3Client(cluster.s3Url, BOB);
  t.after(() => bob.destroy());
  for (const key of keys) {
    const expected = key.startsWith("x/") ? "403 AccessDenied" : "ok";
    assert.equal(await s3Outcome(bob.send(new GetObjectCommand({ Bucket, Key: key }))), expected, key);
  }
  const bobRead = (key: string) =>
    requestAsIs(cluster.alluxioUrl, "POST", `/api/v1/paths${alluxioKeyPath(Bucket, key)}/open-file`, basicAuth(BOB));
  assert.equal((await bobRead("x/")).status, 500, "nor through Alluxio");
  assert.equal((await bobRead("../up")).status, 200);
  await s3.send(new DeleteBucketPolicyCommand({ Bucket }));

  // Folder objects have no versions: with versioning enabled, none that holds bytes is written or deleted.
  const Versioned = "folders-versioned";
  await s3.send(new CreateBucketCommand({ Bucket: Versioned }));
  await s3.send(new PutObjectCommand({ Bucket: Versioned, Key: "kept/", Body: "bytes from before" }));
  await s3.send(new PutObjectCommand({ Bucket: Versioned, Key: "plain", Body: "plain" }));
  const versioning = (Status: "Enabled" | "Suspended") =>
    s3.send(new PutBucketVersioningCommand({ Bucket: Versioned, VersioningConfiguration: { Status } }));
  await versioning("Enabled");
  assert.equal(await s3Outcome(s3.send(new PutObjectCommand({ Bucket: Versioned, Key: "empty/", Body: "" }))), "ok");
  const refused = "501 NotImplemented";
  for (const [what, call] of [
    ["PUT with bytes", () => s3.send(new PutObjectCommand({ Bucket: Versioned, Key: "empty/", Body: "x" }))],
    ["copy", () => s3.send(new CopyObjectCommand({ Bucket: Versioned, Key: "copy/", CopySource: `${Versioned}/plain` }))],
    ["multipart", () => s3.send(new CreateMultipartUploadCommand({ Bucket: Versioned, Key: "multi/" }))],
    ["delete", () => s3.send(new DeleteObjectCommand({ Bucket: Versioned, Key: "kept/" }))],
  ] as const) {
    assert.equal(await s3Outcome(call()), refused, what);
  }
  assert.equal(await text(s3, Versioned, "kept/"), "bytes from before");
  assert.equal(await s3Outcome(s3.send(new DeleteObjectCommand({ Bucket: Versioned, Key: "empty/" }))), "ok");
  await versioning("Suspended");
  assert.equal(await s3Outcome(s3.send(new PutObjectCommand({ Bucket: Versioned, Key: "kept/", Body: "replaced" }))), "ok");
  assert.equal(await text(s3, Versioned, "kept/"), "replaced");

  // A folder object's bytes go with it; the directory stays while keys are below it.
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "x/" }));
  assert.equal(existsSync(join(root, "x", ".koine-folder")), false);
  assert.equal(await text(s3, Bucket, "x//y"), "bytes of x//y");
  for (const Key of keys) await s3.send(new DeleteObjectCommand({ Bucket, Key }));
  assert.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents, undefined);
  assert.deepEqual(readdirSync(root), [], "the directories the keys made went with them");
});
