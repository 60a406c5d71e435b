import assert from "node:assert/strict";
import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { waitFor } from "@koine/testkit";
import { s3Client } from "@koine/testkit/clients";

/** Every path below `dir`, directories included, relative to it. */
async function everything(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test("sweep - staged writes no commit can claim and staging of uploads that are gone are removed; nothing else is", async (t) => {
  const cluster = await bootCluster(t, { sweep: { intervalMs: 200, graceMs: 2000 } });
  const s3 = s3Client(cluster.s3Url);
  await s3.send(new CreateBucketCommand({ Bucket: "bkt" }));
  await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: "deep/kept", Body: "kept" }));
  await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: "deep/.koine-tmp-user-key", Body: "a user's key" }));
  const live = await s3.send(new CreateMultipartUploadCommand({ Bucket: "bkt", Key: "live" }));
  const part = await s3.send(
    new UploadPartCommand({ Bucket: "bkt", Key: "live", UploadId: live.UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 7) }),
  );

  const ufs = join(cluster.home, "ufs");
  const old = new Date(Date.now() - 60_000);
  const leftovers = [join(ufs, "bkt", ".koine-tmp-0000000000000001"), join(ufs, "bkt", "deep", ".koine-tmp-0000000000000002")];
  const orphan = join(ufs, ".koine-uploads", "00000000000000000000000000000000");
  await mkdir(orphan, { recursive: true });
  leftovers.push(join(orphan, "1"));
  for (const file of leftovers) {
    await writeFile(file, "left behind");
    await utimes(file, old, old);
  }
  await utimes(orphan, old, old);
  const fresh = join(ufs, "bkt", ".koine-tmp-0000000000000003");
  await writeFile(fresh, "being written");

  // One sweep removes them in turn (staged writes, then uploads' staging): wait for all three.
  const swept = [
    "bkt/.koine-tmp-0000000000000001",
    "bkt/deep/.koine-tmp-0000000000000002",
    ".koine-uploads/00000000000000000000000000000000",
  ];
  await waitFor("the old leftovers to be swept", async () => {
    const now = await everything(ufs);
    return swept.every((gone) => !now.includes(gone));
  });
  const after = await everything(ufs);
  assert.ok(after.includes("bkt/.koine-tmp-0000000000000003"), "a staged write younger than the grace period stays");
  assert.ok(after.includes("bkt/deep/kept") && after.includes("bkt/deep/.koine-esc-.koine-tmp-user-key"), "objects stay");
  // (Each upload of a part is staged as "<part number>.<content id>".)
  assert.ok(
    after.some((name) => name.startsWith(`.koine-uploads/${live.UploadId}/1.`)),
    "a live upload's parts stay",
  );
  await waitFor("the fresh one to age and go", async () => !(await everything(ufs)).includes("bkt/.koine-tmp-0000000000000003"), 10_000);

  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: "bkt",
      Key: "live",
      UploadId: live.UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    }),
  );
  const got = await s3.send(new GetObjectCommand({ Bucket: "bkt", Key: "live" }));
  assert.equal((await got.Body?.transformToByteArray())?.length, 1024);
  const user = await s3.send(new GetObjectCommand({ Bucket: "bkt", Key: "deep/.koine-tmp-user-key" }));
  assert.equal(await user.Body?.transformToString(), "a user's key");
  await waitFor("the completed upload's staging to go", async () => (await everything(join(ufs, ".koine-uploads"))).length === 0, 10_000);
});
