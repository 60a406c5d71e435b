import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { bootCluster, bootRestartable } from "@koine/launcher";
import { onCleanup } from "@koine/testkit";
import { ADMIN_AND_BOB, alluxioRead, BOB, s3Client, s3Outcome, signedRequest, TEST_CREDENTIALS } from "@koine/testkit/clients";

const MiB = 1024 * 1024;

async function text(s3: S3Client, Bucket: string, Key: string, VersionId?: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key, ...(VersionId ? { VersionId } : {}) }));
  return (await got.Body?.transformToString()) ?? "";
}

/** Every version and delete marker of a bucket, as [key, version id, latest, marker], in listing order. */
function versionsOf(page: ListObjectVersionsCommandOutput): [string, string, boolean, boolean][] {
  const all = [
    ...(page.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, false] as [string, string, boolean, boolean]),
    ...(page.DeleteMarkers ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, true] as [string, string, boolean, boolean]),
  ];
  // Within a key, newest (smallest id) first; "null" sorts by its place, so order by key only and keep the listing's order inside.
  return all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

test("s3 versioning - versions, delete markers, restore by deleting, the null version, and the under-store's view", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "versioned";
  await s3.send(new CreateBucketCommand({ Bucket }));
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, undefined);
  await s3.send(new PutObjectCommand({ Bucket, Key: "doc", Body: "before" }));
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, "Enabled");

  const ids: string[] = [];
  for (const body of ["one", "two", "three"]) {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: "doc", Body: body }));
    assert.match(put.VersionId ?? "", /^[0-9a-f]{14}$/);
    ids.push(put.VersionId as string);
  }
  assert.equal(new Set(ids).size, 3);
  assert.equal(await text(s3, Bucket, "doc"), "three");
  assert.equal(await text(s3, Bucket, "doc", ids[0]), "one");
  assert.equal(await text(s3, Bucket, "doc", ids[1]), "two");
  assert.equal(await text(s3, Bucket, "doc", "null"), "before", "the object written before versioning is the null version");
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "doc", VersionId: ids[1] }));
  assert.equal(head.VersionId, ids[1]);
  assert.equal(head.ContentLength, 3);

  // The under-store holds the latest at its path, older ones in its hidden area.
  const ufs = join(cluster.home, "ufs");
  assert.equal(readFileSync(join(ufs, Bucket, "doc"), "utf8"), "three");
  const aside = readdirSync(join(ufs, ".koine-versions")).map((f) => readFileSync(join(ufs, ".koine-versions", f), "utf8"));
  assert.deepEqual(aside.sort(), ["before", "one", "two"]);
  // Other dialects see the latest version only.
  assert.equal((await alluxioRead(cluster.alluxioUrl, `/${Bucket}/doc`)).toString(), "three");
  const raw = (method: string, query: Record<string, string> = {}) =>
    signedRequest(cluster.s3Url, { method, path: `/${Bucket}/doc`, query, ...TEST_CREDENTIALS });

  let listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  assert.deepEqual(
    (listed.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size]),
    [
      ["doc", ids[2], true, 5],
      ["doc", ids[1], false, 3],
      ["doc", ids[0], false, 3],
      ["doc", "null", false, 6],
    ],
  );

  // A delete makes a delete marker: the key is gone, every version stays.
  const deleted = await s3.send(new DeleteObjectCommand({ Bucket, Key: "doc" }));
  assert.equal(deleted.DeleteMarker, true);
  const marker = deleted.VersionId as string;
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc" }))), "404 NoSuchKey");
  const missing = await raw("GET");
  assert.equal(missing.headers["x-amz-delete-marker"], "true");
  assert.equal(missing.headers["x-amz-version-id"], marker);
  assert.equal(existsSync(join(ufs, Bucket, "doc")), false, "the under-store path shows the key is gone");
  const onMarker = await raw("GET", { versionId: marker });
  assert.equal(onMarker.status, 405);
  assert.equal(onMarker.headers["x-amz-delete-marker"], "true");
  assert.equal((await raw("HEAD", { versionId: marker })).status, 405);
  assert.equal(await text(s3, Bucket, "doc", ids[2]), "three");
  listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  assert.deepEqual(
    (listed.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId, m.IsLatest]),
    [["doc", marker, true]],
  );
  assert.equal(
    listed.Versions?.some((v) => v.IsLatest),
    false,
  );

  // Deleting the delete marker brings the newest version back; deleting the current version, the one before.
  const unmarked = await s3.send(new DeleteObjectCommand({ Bucket, Key: "doc", VersionId: marker }));
  assert.equal(unmarked.DeleteMarker, true);
  assert.equal(unmarked.VersionId, marker);
  assert.equal(await text(s3, Bucket, "doc"), "three");
  assert.equal(readFileSync(join(ufs, Bucket, "doc"), "utf8"), "three");
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "doc", VersionId: ids[2] }));
  assert.equal(await text(s3, Bucket, "doc"), "two");
  assert.equal(readFileSync(join(ufs, Bucket, "doc"), "utf8"), "two");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "doc", VersionId: ids[2] }))), "404 NoSuchVersion");
  assert.equal((await raw("GET", { versionId: "not-an-id" })).status, 400);
  // A noncurrent version deleted for good; its bytes leave the hidden area.
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "doc", VersionId: ids[0] }));
  assert.deepEqual(
    readdirSync(join(ufs, ".koine-versions"))
      .map((f) => readFileSync(join(ufs, ".koine-versions", f), "utf8"))
      .sort(),
    ["before"],
  );

  // Suspended: writes and deletes make the null version, replacing the one there was.
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Suspended" } }));
  const nullPut = await s3.send(new PutObjectCommand({ Bucket, Key: "doc", Body: "null again" }));
  assert.equal(nullPut.VersionId, "null");
  assert.equal(await text(s3, Bucket, "doc", "null"), "null again");
  assert.equal(await text(s3, Bucket, "doc", ids[1]), "two", "a version with an id is kept");
  listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  assert.deepEqual(
    (listed.Versions ?? []).map((v) => [v.VersionId, v.IsLatest]),
    [
      ["null", true],
      [ids[1], false],
    ],
  );
  const nullMarker = await s3.send(new DeleteObjectCommand({ Bucket, Key: "doc" }));
  assert.deepEqual([nullMarker.DeleteMarker, nullMarker.VersionId], [true, "null"]);
  listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  assert.deepEqual(
    versionsOf(listed).map(([, id, latest, isMarker]) => [id, latest, isMarker]),
    [
      [ids[1], false, false],
      ["null", true, true],
    ],
  );

  // A bucket with versions left is not empty.
  assert.equal(await s3Outcome(s3.send(new DeleteBucketCommand({ Bucket }))), "409 BucketNotEmpty");
  await s3.send(
    new DeleteObjectsCommand({
      Bucket,
      Delete: {
        Objects: [
          { Key: "doc", VersionId: ids[1] },
          { Key: "doc", VersionId: "null" },
        ],
      },
    }),
  );
  assert.equal((await s3.send(new ListObjectVersionsCommand({ Bucket }))).Versions, undefined);
  await s3.send(new DeleteBucketCommand({ Bucket }));
});

test("s3 versioning - copies, multipart uploads and tags by version id; strangers refused every version operation", async (t) => {
  const cluster = await bootCluster(t, ADMIN_AND_BOB);
  const s3 = s3Client(cluster.s3Url);
  const bob = s3Client(cluster.s3Url, BOB);
  t.after(() => {
    s3.destroy();
    bob.destroy();
  });
  const Bucket = "copies";
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
  const first = await s3.send(new PutObjectCommand({ Bucket, Key: "src", Body: "first", Tagging: "n=1" }));
  const second = await s3.send(new PutObjectCommand({ Bucket, Key: "src", Body: "second" }));

  const copy = await s3.send(new CopyObjectCommand({ Bucket, Key: "dst", CopySource: `${Bucket}/src?versionId=${first.VersionId}` }));
  assert.equal(copy.CopySourceVersionId, first.VersionId);
  assert.match(copy.VersionId ?? "", /^[0-9a-f]{14}$/);
  assert.equal(await text(s3, Bucket, "dst"), "first");
  const bad = s3.send(new CopyObjectCommand({ Bucket, Key: "dst", CopySource: `${Bucket}/src?versionId=nope` }));
  assert.equal(await s3Outcome(bad), "400 InvalidArgument");

  // Tags of a noncurrent version, read and changed by its id.
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "src", VersionId: first.VersionId }));
  assert.deepEqual(tags.TagSet, [{ Key: "n", Value: "1" }]);
  await s3.send(
    new PutObjectTaggingCommand({ Bucket, Key: "src", VersionId: first.VersionId, Tagging: { TagSet: [{ Key: "n", Value: "2" }] } }),
  );
  assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "src", VersionId: first.VersionId }))).TagSet, [
    { Key: "n", Value: "2" },
  ]);
  assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "src" }))).TagSet, []);
  assert.equal(await text(s3, Bucket, "src", second.VersionId), "second");

  // A multipart upload over a versioned key keeps the version it replaced.
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "src" }));
  const part = await s3.send(new UploadPartCommand({ Bucket, Key: "src", UploadId, PartNumber: 1, Body: Buffer.alloc(MiB, 7) }));
  const done = await s3.send(
    new CompleteMultipartUploadCommand({ Bucket, Key: "src", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
  );
  assert.match(done.VersionId ?? "", /^[0-9a-f]{14}$/);
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "src" }))).ContentLength, MiB);
  assert.equal(await text(s3, Bucket, "src", second.VersionId), "second");
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "src" }));
  assert.deepEqual(
    listed.Versions?.map((v) => v.VersionId),
    [done.VersionId, second.VersionId, first.VersionId],
  );

  // Conditional writes in a versioned bucket: of racing If-None-Match writes one wins; a refused one keeps no version.
  const racing = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      s3Outcome(s3.send(new PutObjectCommand({ Bucket, Key: "once", Body: `racer ${i}`, IfNoneMatch: "*" }))),
    ),
  );
  assert.deepEqual(
    racing.filter((o) => o === "ok"),
    ["ok"],
  );
  assert.equal(racing.filter((o) => o === "412 PreconditionFailed").length, 5);
  assert.equal((await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "once" }))).Versions?.length, 1);
  const onceHead = await s3.send(new HeadObjectCommand({ Bucket, Key: "once" }));
  const matched = await s3.send(new PutObjectCommand({ Bucket, Key: "once", Body: "after", IfMatch: onceHead.ETag }));
  assert.notEqual(matched.VersionId, onceHead.VersionId);
  assert.match(await text(s3, Bucket, "once", onceHead.VersionId), /^racer \d$/, "the winner's bytes are its version");
  assert.equal(await text(s3, Bucket, "once"), "after");

  // A stranger: no version operation, and nothing changed by trying.
  const VersionId = first.VersionId as string;
  for (const [what, call] of [
    ["PutBucketVersioning", () => bob.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Suspended" } }))],
    ["GetBucketVersioning", () => bob.send(new GetBucketVersioningCommand({ Bucket }))],
    ["ListObjectVersions", () => bob.send(new ListObjectVersionsCommand({ Bucket }))],
    ["GetObject by version", () => bob.send(new GetObjectCommand({ Bucket, Key: "src", VersionId }))],
    ["DeleteObject by version", () => bob.send(new DeleteObjectCommand({ Bucket, Key: "src", VersionId }))],
    ["DeleteObject", () => bob.send(new DeleteObjectCommand({ Bucket, Key: "src" }))],
    [
      "PutObjectTagging by version",
      () => bob.send(new PutObjectTaggingCommand({ Bucket, Key: "src", VersionId, Tagging: { TagSet: [] } })),
    ],
  ] as const) {
    assert.equal(await s3Outcome(call()), "403 AccessDenied", what);
  }
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, "Enabled");
  assert.equal(await text(s3, Bucket, "src", VersionId), "first");
  assert.equal((await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "src" }))).Versions?.length, 3);
});

test("s3 versioning - 3000 versions of 100 keys page right through ListObjectVersions, across a SIGKILL of every process", async (t) => {
  const koine = await bootRestartable(t, "koine-versions-");
  let s3 = s3Client(koine.s3Url);
  const Bucket = "many";
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));

  // The model: each key's versions, newest first, as [version id, delete marker].
  const keys = Array.from({ length: 100 }, (_, i) => `dir${i % 4}/key${String(i).padStart(3, "0")}`);
  const model = new Map<string, [string, boolean][]>(keys.map((k) => [k, []]));
  const round = async (n: number) => {
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(
        keys.slice(i, i + 25).map(async (Key, j) => {
          // Every tenth round, every seventh key gets a delete marker instead of bytes.
          if (n % 10 === 9 && (i + j) % 7 === 0) {
            const deleted = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
            model.get(Key)?.unshift([deleted.VersionId as string, true]);
          } else {
            const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body: `${Key} #${n}` }));
            model.get(Key)?.unshift([put.VersionId as string, false]);
          }
        }),
      );
    }
  };
  for (let n = 0; n < 15; n++) await round(n);
  s3.destroy();
  await koine.killAndRestart();
  s3 = s3Client(koine.s3Url);
  onCleanup(t, () => s3.destroy());
  for (let n = 15; n < 30; n++) await round(n);

  const expected = (prefix: string) =>
    [...model.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .flatMap(([k, versions]) => versions.map(([id, marker], i) => [k, id, i === 0, marker] as [string, string, boolean, boolean]));
  const pages = async (prefix: string, maxKeys: number, delimiter?: string) => {
    const seen: [string, string, boolean, boolean][] = [];
    const prefixes: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (let page = 0; page < 100; page++) {
      const listed = await s3.send(
        new ListObjectVersionsCommand({
          Bucket,
          Prefix: prefix,
          MaxKeys: maxKeys,
          ...(delimiter ? { Delimiter: delimiter } : {}),
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(versionMarker ? { VersionIdMarker: versionMarker } : {}),
        }),
      );
      const entries = [
        ...(listed.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, false] as [string, string, boolean, boolean]),
        ...(listed.DeleteMarkers ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, true] as [string, string, boolean, boolean]),
      ];
      // Within a page, by key, then newest first (version ids count down).
      entries.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])) || (a[1] < b[1] ? -1 : 1));
      seen.push(...entries);
      prefixes.push(...(listed.CommonPrefixes ?? []).map((p) => p.Prefix as string));
      assert.ok(entries.length + (listed.CommonPrefixes?.length ?? 0) <= maxKeys);
      if (!listed.IsTruncated) return { seen, prefixes };
      keyMarker = listed.NextKeyMarker;
      versionMarker = listed.NextVersionIdMarker;
    }
    assert.fail("listing never ended");
  };
  const all = await pages("", 337);
  assert.equal(all.seen.length, 3000);
  assert.deepEqual(all.seen, expected(""));
  const one = await pages("dir1/", 1000);
  assert.deepEqual(one.seen, expected("dir1/"));
  const folded = await pages("", 3, "/");
  assert.deepEqual(folded, { seen: [], prefixes: ["dir0/", "dir1/", "dir2/", "dir3/"] });
  // Every version's bytes are there, before and after the restart.
  for (const key of ["dir0/key000", "dir3/key099"]) {
    const versions = model.get(key) ?? [];
    for (const [id, marker] of versions
      .filter(([, m]) => !m)
      .slice(0, 3)
      .concat(versions.slice(-2))) {
      if (marker) continue;
      assert.match(await text(s3, Bucket, key, id), new RegExp(`^${key} #\\d+$`));
    }
  }
});

const run = promisify(execFile);
const hasBoto3 = await run("python3", ["-c", "import boto3"], { timeout: 30_000 }).then(
  () => true,
  () => false,
);

const BOTO3_VERSIONS = `
import boto3, sys
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
s3.create_bucket(Bucket="boto-versions")
s3.put_bucket_versioning(Bucket="boto-versions", VersioningConfiguration={"Status": "Enabled"})
assert s3.get_bucket_versioning(Bucket="boto-versions")["Status"] == "Enabled"
ids = [s3.put_object(Bucket="boto-versions", Key="k/%d" % (i % 3), Body=b"v%d" % i)["VersionId"] for i in range(9)]
assert s3.get_object(Bucket="boto-versions", Key="k/0", VersionId=ids[3])["Body"].read() == b"v3"
marker = s3.delete_object(Bucket="boto-versions", Key="k/1")
assert marker["DeleteMarker"] is True, marker
try:
    s3.head_object(Bucket="boto-versions", Key="k/1")
    raise SystemExit("a deleted key should be gone")
except ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
    assert e.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true", e.response
versions, markers = [], []
for page in s3.get_paginator("list_object_versions").paginate(Bucket="boto-versions", PaginationConfig={"PageSize": 2}):
    versions += [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])]
    markers += [(m["Key"], m["VersionId"], m["IsLatest"]) for m in page.get("DeleteMarkers", [])]
assert len(versions) == 9, versions
assert markers == [("k/1", marker["VersionId"], True)], markers
assert [v for v in versions if v[2]] == [("k/0", ids[6], True), ("k/2", ids[8], True)], versions
res = s3.delete_objects(Bucket="boto-versions", Delete={"Objects": [{"Key": k, "VersionId": v} for k, v, _ in versions] + [{"Key": "k/1", "VersionId": marker["VersionId"]}]})
assert len(res["Deleted"]) == 10 and "Errors" not in res, res
assert "Versions" not in s3.list_object_versions(Bucket="boto-versions")
s3.put_bucket_versioning(Bucket="boto-versions", VersioningConfiguration={"Status": "Suspended"})
assert s3.put_object(Bucket="boto-versions", Key="n", Body=b"x")["VersionId"] == "null"
s3.delete_object(Bucket="boto-versions", Key="n", VersionId="null")
s3.delete_bucket(Bucket="boto-versions")
print("boto3 versions ok")
`;

test("s3 versioning - boto3: versions, delete markers, the list_object_versions paginator, deleting versions, suspended", {
  skip: hasBoto3 ? false : "python3 boto3 is not installed",
}, async (t) => {
  const cluster = await bootCluster(t);
  const { stdout } = await run(
    "python3",
    ["-c", BOTO3_VERSIONS, cluster.s3Url, TEST_CREDENTIALS.accessKeyId, TEST_CREDENTIALS.secretAccessKey],
    {
      timeout: 120_000,
    },
  );
  assert.match(stdout, /boto3 versions ok/);
});
