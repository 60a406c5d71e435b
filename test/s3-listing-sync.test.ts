import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { onCleanup, tempDir } from "@koine/testkit";
import { adminCall, alluxioOk, s3Client } from "@koine/testkit/clients";

/** Files put straight into the under-store, as another tool would. */
async function putInUfs(ufs: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    await mkdir(join(ufs, path, ".."), { recursive: true });
    await writeFile(join(ufs, path), path);
  }
}

test("ListObjectsV2 learns the under-store directories a page walks, not the whole tree below it; entries found unchanged are not journaled again; a new directory shows as a common prefix at once", async (t) => {
  const home = await tempDir(t, "koine-listing-");
  const ufs = join(home, "ufs");
  await putInUfs(ufs, ["lake/a/1", "lake/a/2", "lake/a/3", "lake/b/1", "lake/b/2", "lake/b/3"]);
  const cluster = await bootCluster(t, { home, syncIntervalMs: 300 });
  const s3 = s3Client(cluster.s3Url);
  onCleanup(t, () => s3.destroy());
  /** The names the namespace holds below `path` now, without asking the under-store. */
  const held = async (path: string) =>
    ((await alluxioOk(cluster.alluxioUrl, `${path}/list-status`, { loadMetadataType: "NEVER" })) as { name: string }[]).map((s) => s.name);

  const first = await s3.send(new ListObjectsV2Command({ Bucket: "lake", MaxKeys: 2 }));
  assert.deepEqual(
    first.Contents?.map((o) => o.Key),
    ["a/1", "a/2"],
  );
  assert.equal(first.IsTruncated, true);
  assert.deepEqual(await held("/lake/a"), ["1", "2", "3"], "the page walked a/: learnt");
  assert.deepEqual(await held("/lake/b"), [], "the page did not walk b/: not learnt yet");

  const rest = await s3.send(new ListObjectsV2Command({ Bucket: "lake", ContinuationToken: first.NextContinuationToken }));
  assert.deepEqual(
    rest.Contents?.map((o) => o.Key),
    ["a/3", "b/1", "b/2", "b/3"],
  );
  assert.deepEqual(await held("/lake/b"), ["1", "2", "3"]);

  // Compared again once the interval is past and found unchanged, entries are not journaled again: reads write nothing.
  const journalEnd = async () => {
    const { json } = await adminCall(cluster.adminUrl, "GET", "/api/v1/metadata");
    return (json as { shards: { journal: { lastSeq: number } }[] }).shards[0]?.journal.lastSeq;
  };
  await sleep(400);
  const before = await journalEnd();
  await s3.send(new ListObjectsV2Command({ Bucket: "lake" }));
  await s3.send(new HeadObjectCommand({ Bucket: "lake", Key: "a/1" }));
  await s3.send(new ListObjectsV2Command({ Bucket: "lake", Delimiter: "/" }));
  assert.equal(await journalEnd(), before, "nothing journaled by reads of entries the under-store still holds as they are");

  // Directories made in the under-store since, at any depth, are learnt by the next listing once the interval is past.
  await putInUfs(ufs, ["lake/c/d/e/deep", "lake/a/4"]);
  await sleep(400);
  const prefixes = await s3.send(new ListObjectsV2Command({ Bucket: "lake", Delimiter: "/" }));
  assert.deepEqual(
    prefixes.CommonPrefixes?.map((p) => p.Prefix),
    ["a/", "b/", "c/"],
    "c/ is shown at once: its first key is three directories down",
  );
  const again = await s3.send(new ListObjectsV2Command({ Bucket: "lake" }));
  assert.deepEqual(
    again.Contents?.map((o) => o.Key),
    ["a/1", "a/2", "a/3", "a/4", "b/1", "b/2", "b/3", "c/d/e/deep"],
  );
});
