import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { alluxioOk, alluxioRead, basicAuth, requestAsIs, s3Client } from "@koine/testkit/clients";

/** A request whose path goes on the wire exactly as written; the JSON or S3 error code of its answer. */
async function postAsIs(
  base: string,
  path: string,
  method = "POST",
  headers: Record<string, string> = basicAuth(),
): Promise<{ statusCode?: string; code?: string; path?: string }> {
  const text = (await requestAsIs(base, method, path, headers)).body.toString();
  return text.startsWith("{") ? JSON.parse(text) : { code: /<Code>(\w+)</.exec(text)?.[1] ?? text };
}

const bodyOf = async (s3: ReturnType<typeof s3Client>, Key: string) => {
  const got = await s3.send(new GetObjectCommand({ Bucket: "names", Key }));
  return Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).toString();
};

test("names - keys shaped like koine's own files read back after listings, stored escaped in the under-store", async (t) => {
  const cluster = await bootCluster(t, { syncIntervalMs: 50 });
  const s3 = s3Client(cluster.s3Url);
  await s3.send(new CreateBucketCommand({ Bucket: "names" }));
  const keys = ["d/.koine-x", "d/.koine-tmp-0123456789abcdef", ".koine-uploads/p", ".koine-esc-y", "d/.koine-esc-.koine-z", "plain"];
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: "names", Key, Body: `bytes of ${Key}` }));
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: "names", Key: "d/.koine-multi" }));
  const part = await s3.send(
    new UploadPartCommand({ Bucket: "names", Key: "d/.koine-multi", UploadId: upload.UploadId, PartNumber: 1, Body: "multi" }),
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: "names",
      Key: "d/.koine-multi",
      UploadId: upload.UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    }),
  );
  const all = [...keys, "d/.koine-multi"].sort();
  for (let round = 0; round < 3; round++) {
    // Each listing past the sync interval compares the namespace with the under-store.
    await sleep(100);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "names" }));
    assert.deepEqual((listed.Contents ?? []).map((c) => c.Key).sort(), all, `round ${round}`);
    await alluxioOk(cluster.alluxioUrl, "/names/d/list-status");
    for (const Key of keys) assert.equal(await bodyOf(s3, Key), `bytes of ${Key}`, Key);
    assert.equal(await bodyOf(s3, "d/.koine-multi"), "multi");
  }
  const onDisk = await readdir(join(cluster.home, "ufs", "names", "d"));
  assert.deepEqual(
    onDisk.sort(),
    [".koine-esc-.koine-esc-.koine-z", ".koine-esc-.koine-multi", ".koine-esc-.koine-tmp-0123456789abcdef", ".koine-esc-.koine-x"],
    "a user's name that looks like koine's own is stored escaped",
  );
  assert.equal(await readFile(join(cluster.home, "ufs", "names", ".koine-esc-.koine-uploads", "p"), "utf8"), "bytes of .koine-uploads/p");
  assert.equal((await alluxioRead(cluster.alluxioUrl, "/names/d/.koine-x")).toString(), "bytes of d/.koine-x");
});

test("names - percent-encoded dots stay bytes of a name in every dialect, and no decoding makes them '..'", async (t) => {
  const cluster = await bootCluster(t, { syncIntervalMs: 50 });
  const s3 = s3Client(cluster.s3Url);
  await s3.send(new CreateBucketCommand({ Bucket: "names" }));
  const Key = "%2e%2e/%2e%2e/etc/x";
  await s3.send(new PutObjectCommand({ Bucket: "names", Key, Body: "dots" }));
  assert.equal(await readFile(join(cluster.home, "ufs", "names", "%2e%2e", "%2e%2e", "etc", "x"), "utf8"), "dots");
  assert.equal(await bodyOf(s3, Key), "dots");

  // Alluxio names the file by its path, percent-encoded once in the URL, as alluxio-py does.
  const encoded = "/names/%252e%252e/%252e%252e/etc/x";
  const status = await alluxioOk(cluster.alluxioUrl, `${encoded}/get-status`);
  assert.equal(status.path, "/names/%2e%2e/%2e%2e/etc/x");
  assert.equal((await alluxioRead(cluster.alluxioUrl, encoded)).toString(), "dots");
  // A rename's destination is a query parameter, decoded once: "%2541" names "%41", never "A".
  await alluxioOk(cluster.alluxioUrl, `/names/%252e%252e/%252e%252e/etc/x/rename?dst=${encodeURIComponent("/names/%2e%2e/%41")}`);
  assert.equal(await bodyOf(s3, "%2e%2e/%41"), "dots");
  await alluxioOk(cluster.alluxioUrl, `/names/%252e%252e/%2541/rename?dst=${encodeURIComponent(`/names/${Key}`)}`);
  const listed = await alluxioOk<{ name: string }[]>(cluster.alluxioUrl, "/names/list-status");
  assert.deepEqual(
    listed.map((s) => s.name),
    ["%2e%2e"],
  );
  // Dots the URL itself encodes are dots: ".." is then a name, as in an S3 key, never a step out of the
  // bucket or the store. (Sent as is: fetch and curl would resolve them before sending, as WHATWG URLs do.)
  await s3.send(new PutObjectCommand({ Bucket: "names", Key: "../../etc/x", Body: "climbs nowhere" }));
  const dotdot = join(cluster.home, "ufs", "names", ".koine-dotdot", ".koine-dotdot", "etc", "x");
  assert.equal(await readFile(dotdot, "utf8"), "climbs nowhere");
  assert.deepEqual((await readdir(join(cluster.home, "ufs"))).sort(), ["names"]);
  for (const raw of ["/names/%2e%2e/%2e%2e/etc/x", "/names/..%2f..%2fetc/x"]) {
    const answer = await postAsIs(cluster.alluxioUrl, `/api/v1/paths${raw}/get-status`);
    assert.equal(answer.path, "/names/../../etc/x", `${raw}: ${JSON.stringify(answer)}`);
  }
  for (const raw of ["/names/%2E%2E/get", "/names/../etc"]) {
    const answer = await postAsIs(cluster.alluxioUrl, `/api/v1/paths${raw}/get-status`);
    assert.equal(answer.statusCode, "NOT_FOUND", `${raw}: ${JSON.stringify(answer)}`);
  }
  // No bucket is named "..": a path that starts so is no path.
  const top = await postAsIs(cluster.alluxioUrl, "/api/v1/paths/%2e%2e/names/get-status");
  assert.equal(top.statusCode, "INVALID_ARGUMENT", JSON.stringify(top));
  for (const raw of ["/names/%2e%2e/%2e%2e/etc/x", "/names/..%2f..%2fetc/x", "/names/../etc"]) {
    const answer = await postAsIs(cluster.s3Url, raw, "GET", {});
    assert.match(String(answer.code), /^(AccessDenied|NoSuchKey)$/, raw);
  }
  const admin = await fetch(`${cluster.adminUrl}/api/v1/load`, {
    method: "POST",
    headers: { ...basicAuth(), "content-type": "application/json" },
    body: JSON.stringify({ paths: ["/../etc"] }),
  });
  assert.equal(admin.status, 400, await admin.text());
});
