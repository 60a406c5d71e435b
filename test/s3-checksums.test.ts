import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import {
  type ChecksumAlgorithm,
  type ChecksumType,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { startChecksum } from "@koine/s3/checksums";
import { s3Client, s3Outcome } from "@koine/testkit/clients";

const MiB = 1024 * 1024;
const ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const;
/** Which checksum types S3 has for each algorithm's multipart objects. */
const TYPES: Record<(typeof ALGORITHMS)[number], ChecksumType[]> = {
  CRC32: ["COMPOSITE", "FULL_OBJECT"],
  CRC32C: ["COMPOSITE", "FULL_OBJECT"],
  CRC64NVME: ["FULL_OBJECT"],
  SHA1: ["COMPOSITE"],
  SHA256: ["COMPOSITE"],
};
/** How the SDK sends a checksum: a Buffer's in a header, a stream's in an aws-chunked trailer. */
const TRANSPORTS = ["header", "trailer"] as const;

function body(bytes: Buffer, transport: (typeof TRANSPORTS)[number]): Buffer | Readable {
  return transport === "header" ? bytes : Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]);
}

async function checksumOf(algorithm: string, ...pieces: Buffer[]): Promise<string> {
  const sum = startChecksum(algorithm.toLowerCase() as Parameters<typeof startChecksum>[0]);
  for (const piece of pieces) sum.update(piece);
  return sum.digest();
}

/** The SDK's field for an algorithm's checksum: ChecksumCRC32, ChecksumCRC64NVME, … */
const field = (algorithm: string) => `Checksum${algorithm}` as "ChecksumCRC32";

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

test("s3 checksums - every algorithm, single PUT and multipart COMPOSITE and FULL_OBJECT, by header and trailer, validated by the SDK", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "sums";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const first = randomBytes(5 * MiB);
  const second = randomBytes(3000);
  const whole = Buffer.concat([first, second]);

  for (const algorithm of ALGORITHMS) {
    for (const transport of TRANSPORTS) {
      // One PUT: the checksum is the object's, checked, kept, and given back (and checked by the SDK) on GET.
      const Key = `single-${algorithm}-${transport}`;
      const expected = await checksumOf(algorithm, second);
      const put = await s3.send(
        new PutObjectCommand({ Bucket, Key, Body: body(second, transport), ContentLength: second.length, ChecksumAlgorithm: algorithm }),
      );
      assert.equal(put[field(algorithm)], expected, `${Key}: PUT answers the checksum`);
      const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
      assert.equal(got[field(algorithm)], expected, Key);
      assert.equal(got.ChecksumType, "FULL_OBJECT", Key);
      assert.ok((await readAll(got.Body as AsyncIterable<Uint8Array>)).equals(second), Key);

      for (const ChecksumType of TYPES[algorithm]) {
        const Key = `multi-${algorithm}-${ChecksumType}-${transport}`;
        const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: algorithm, ChecksumType }));
        assert.equal(created.ChecksumAlgorithm, algorithm, Key);
        assert.equal(created.ChecksumType, ChecksumType, Key);
        const UploadId = created.UploadId as string;
        const parts = [];
        for (const [i, bytes] of [first, second].entries()) {
          const res = await s3.send(
            new UploadPartCommand({
              Bucket,
              Key,
              UploadId,
              PartNumber: i + 1,
              Body: body(bytes, transport),
              ContentLength: bytes.length,
              ChecksumAlgorithm: algorithm,
            }),
          );
          assert.equal(res[field(algorithm)], await checksumOf(algorithm, bytes), `${Key}: part ${i + 1}'s checksum`);
          parts.push({ PartNumber: i + 1, ETag: res.ETag as string, [field(algorithm)]: res[field(algorithm)] });
        }
        const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
        assert.deepEqual(
          listed.Parts?.map((p) => p[field(algorithm)]),
          parts.map((p) => p[field(algorithm)]),
        );
        assert.equal(listed.ChecksumType, ChecksumType);
        const objectSum =
          ChecksumType === "FULL_OBJECT"
            ? await checksumOf(algorithm, whole)
            : `${await checksumOf(algorithm, ...parts.map((p) => Buffer.from(p[field(algorithm)] as string, "base64")))}-2`;
        const done = await s3.send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key,
            UploadId,
            MultipartUpload: { Parts: parts },
            ChecksumType,
            // A whole-object checksum the client knows is checked against the object's.
            ...(ChecksumType === "FULL_OBJECT" ? { [field(algorithm)]: objectSum } : {}),
          }),
        );
        assert.equal(done[field(algorithm)], objectSum, `${Key}: the object's checksum`);
        assert.equal(done.ChecksumType, ChecksumType);
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
        assert.equal(got[field(algorithm)], objectSum, Key);
        assert.equal(got.ChecksumType, ChecksumType, Key);
        assert.ok((await readAll(got.Body as AsyncIterable<Uint8Array>)).equals(whole), Key);
      }
    }
  }

  // Algorithms with no such type are refused when the upload is created.
  assert.equal(
    await s3Outcome(
      s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "x", ChecksumAlgorithm: "SHA256", ChecksumType: "FULL_OBJECT" })),
    ),
    "400 InvalidRequest",
  );
  assert.equal(
    await s3Outcome(
      s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "x", ChecksumAlgorithm: "CRC64NVME", ChecksumType: "COMPOSITE" })),
    ),
    "400 InvalidRequest",
  );
});

test("s3 checksums - a corrupted part, a wrong part checksum or object checksum at completion are refused; parts read by number", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "parts";
  const Key = "object";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const first = randomBytes(5 * MiB);
  const second = randomBytes(100);
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: "CRC32C", ChecksumType: "COMPOSITE" }),
  );
  const upload = (PartNumber: number, Body: Buffer, extra: Record<string, string> = {}) =>
    s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ChecksumAlgorithm: "CRC32C", ...extra }));
  // A part whose bytes are not what its checksum says is refused, and not kept.
  assert.equal(await s3Outcome(upload(1, first, { ChecksumCRC32C: await checksumOf("CRC32C", second) })), "400 BadDigest");
  assert.equal((await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }))).Parts, undefined);
  // A part may carry only its upload's algorithm.
  assert.equal(
    await s3Outcome(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: first, ChecksumAlgorithm: "SHA1" }))),
    "400 InvalidRequest",
  );
  const one = await upload(1, first);
  const two = await upload(2, second);
  const parts = [
    { PartNumber: 1, ETag: one.ETag, ChecksumCRC32C: one.ChecksumCRC32C },
    { PartNumber: 2, ETag: two.ETag, ChecksumCRC32C: two.ChecksumCRC32C },
  ];
  const complete = (Parts: typeof parts) =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
  assert.equal(
    await s3Outcome(complete([parts[0], { ...parts[1], ChecksumCRC32C: one.ChecksumCRC32C }] as typeof parts)),
    "400 InvalidPart",
  );
  assert.equal(await s3Outcome(complete([parts[0], { ...parts[1], ChecksumCRC32C: undefined }] as typeof parts)), "400 InvalidRequest");
  await complete(parts);

  // A part by number: its bytes, its checksum (the object's is made of them), and how many there are.
  const part = await s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 2, ChecksumMode: "ENABLED" }));
  assert.equal(part.PartsCount, 2);
  assert.equal(part.ContentRange, `bytes ${first.length}-${first.length + second.length - 1}/${first.length + second.length}`);
  assert.equal(part.ChecksumCRC32C, two.ChecksumCRC32C);
  assert.ok((await readAll(part.Body as AsyncIterable<Uint8Array>)).equals(second));
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key, PartNumber: 1 }));
  assert.equal(head.ContentLength, first.length);
  assert.equal(head.PartsCount, 2);
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 3 }))), "416 InvalidPartNumber");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 1, Range: "bytes=0-1" }))), "400 InvalidRequest");
  // An object put whole is its own part 1, and has no part 2.
  await s3.send(new PutObjectCommand({ Bucket, Key: "whole", Body: second }));
  const wholePart = await s3.send(new GetObjectCommand({ Bucket, Key: "whole", PartNumber: 1 }));
  assert.ok((await readAll(wholePart.Body as AsyncIterable<Uint8Array>)).equals(second));
  assert.equal(wholePart.PartsCount, undefined);
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "whole", PartNumber: 2 }))), "416 InvalidPartNumber");

  // GetObjectAttributes: the ETag unquoted, the checksum and its type, the parts page by page, the size.
  const attributes = await s3.send(
    new GetObjectAttributesCommand({
      Bucket,
      Key,
      ObjectAttributes: ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"],
      MaxParts: 1,
    }),
  );
  const etag = (await s3.send(new HeadObjectCommand({ Bucket, Key }))).ETag as string;
  assert.equal(attributes.ETag, etag.replace(/"/g, ""));
  assert.equal(attributes.ObjectSize, first.length + second.length);
  assert.equal(attributes.StorageClass, "STANDARD");
  assert.equal(attributes.Checksum?.ChecksumType, "COMPOSITE");
  assert.match(attributes.Checksum?.ChecksumCRC32C ?? "", /-2$/);
  assert.equal(attributes.ObjectParts?.TotalPartsCount, 2);
  assert.equal(attributes.ObjectParts?.IsTruncated, true);
  assert.deepEqual(
    attributes.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumCRC32C]),
    [[1, first.length, one.ChecksumCRC32C]],
  );
  const rest = await s3.send(
    new GetObjectAttributesCommand({
      Bucket,
      Key,
      ObjectAttributes: ["ObjectParts"],
      PartNumberMarker: attributes.ObjectParts?.NextPartNumberMarker,
    }),
  );
  assert.deepEqual(
    rest.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size]),
    [[2, second.length]],
  );
  // A copy is one part: a COMPOSITE checksum does not follow it; one asked for is taken anew as the bytes pass.
  await s3.send(new CopyObjectCommand({ Bucket, Key: "copied", CopySource: `${Bucket}/${Key}` }));
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "copied", ChecksumMode: "ENABLED" }))).ChecksumCRC32C, undefined);
  const recopied = await s3.send(
    new CopyObjectCommand({ Bucket, Key: "summed-copy", CopySource: `${Bucket}/${Key}`, ChecksumAlgorithm: "SHA256" }),
  );
  const wholeSha = createHash("sha256").update(first).update(second).digest("base64");
  assert.equal(recopied.CopyObjectResult?.ChecksumSHA256, wholeSha);
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "summed-copy", ChecksumMode: "ENABLED" }))).ChecksumSHA256, wholeSha);
  const sha = createHash("sha256").update(second).digest("base64");
  await s3.send(new PutObjectCommand({ Bucket, Key: "summed", Body: second, ChecksumSHA256: sha }));
  const summed = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: "summed", ObjectAttributes: ["Checksum", "ObjectParts"] }));
  assert.deepEqual([summed.Checksum?.ChecksumSHA256, summed.Checksum?.ChecksumType, summed.ObjectParts], [sha, "FULL_OBJECT", undefined]);
});

test("s3 conditional writes - of racing writes with If-None-Match or the same If-Match exactly one wins, completions too", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "races";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const racers = 8;
  const race = (put: (i: number) => Promise<unknown>) => Promise.all(Array.from({ length: racers }, (_, i) => s3Outcome(put(i))));
  const tally = (outcomes: string[]) => {
    const counts: Record<string, number> = {};
    for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
    return counts;
  };

  const created = await race((i) => s3.send(new PutObjectCommand({ Bucket, Key: "once", Body: `writer ${i}`, IfNoneMatch: "*" })));
  assert.deepEqual(tally(created), { ok: 1, "412 PreconditionFailed": racers - 1 });
  const winner = created.indexOf("ok");
  const first = await s3.send(new GetObjectCommand({ Bucket, Key: "once" }));
  assert.equal(await first.Body?.transformToString(), `writer ${winner}`, "the winner's bytes are the object");

  const updated = await race((i) =>
    s3.send(new PutObjectCommand({ Bucket, Key: "once", Body: `updater ${i}`, IfMatch: first.ETag as string })),
  );
  assert.deepEqual(tally(updated), { ok: 1, "412 PreconditionFailed": racers - 1 });
  const now = await s3.send(new GetObjectCommand({ Bucket, Key: "once" }));
  assert.equal(await now.Body?.transformToString(), `updater ${updated.indexOf("ok")}`);
  assert.equal(
    await s3Outcome(s3.send(new PutObjectCommand({ Bucket, Key: "missing", Body: "x", IfMatch: first.ETag as string }))),
    "404 NoSuchKey",
  );

  // Completing uploads of one key with If-None-Match: one object, the others refused.
  const uploads = await Promise.all(
    Array.from({ length: 3 }, async (_, i) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "assembled" }));
      const part = await s3.send(new UploadPartCommand({ Bucket, Key: "assembled", UploadId, PartNumber: 1, Body: `upload ${i}` }));
      return { UploadId, ETag: part.ETag };
    }),
  );
  const completions = await Promise.all(
    uploads.map(({ UploadId, ETag }) =>
      s3Outcome(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key: "assembled",
            UploadId,
            IfNoneMatch: "*",
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
          }),
        ),
      ),
    ),
  );
  assert.deepEqual(tally(completions), { ok: 1, "412 PreconditionFailed": 2 });
  const assembled = await s3.send(new GetObjectCommand({ Bucket, Key: "assembled" }));
  assert.equal(await assembled.Body?.transformToString(), `upload ${completions.indexOf("ok")}`);
});

// The SDK's types name the algorithms it knows: a typo in ALGORITHMS fails tsc.
const _known: readonly ChecksumAlgorithm[] = ALGORITHMS;
