import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { tempDir } from "@koine/testkit";
import { alluxioOk, alluxioRead, basicAuth, s3Client } from "@koine/testkit/clients";

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
