import type { ChecksumType, CompletePlan, FileAttributes, Upload, UploadPart } from "@koine/protocol";
import { claimedChecksums, readSmallBody } from "./body.ts";
import { encodingOf, requireBucket } from "./buckets.ts";
import {
  type ChecksumAlgorithm,
  checksumAlgorithm,
  checksummed,
  checksumTypesOf,
  combineCrcs,
  compositeChecksum,
  isChecksumAlgorithm,
} from "./checksums.ts";
import { isoDate, ownerOf, quoteEtag, type S3Context, type S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { checkKey, pathOf } from "./names.ts";
import { attributesFrom, checksumElements, copySourceOf, refuseVersionedFolderBytes, withBody, writeCondition } from "./objects.ts";
import { versionHeader } from "./versions.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

const XML = "application/xml";

/**
 * The upload named by ?uploadId, which must be for this bucket and key and,
 * unless `completedToo`, still open.
 */
async function uploadOf(ctx: S3Context, deps: S3Deps, completedToo = false): Promise<Upload> {
  const uploadId = ctx.query.get("uploadId") ?? "";
  const upload = await deps.client.getUpload(uploadId).catch(() => undefined);
  if (!upload || upload.path !== pathOf(ctx.bucket as string, ctx.key) || (upload.completedEtag !== undefined && !completedToo)) {
    throw s3Error("NoSuchUpload", undefined, { UploadId: uploadId });
  }
  return upload;
}

export async function createMultipartUpload(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  checkKey(key);
  const checksum = requestedChecksum(ctx);
  const dir = await requireBucket(deps.client, bucket);
  refuseVersionedFolderBytes(dir, key, undefined);
  const upload = await deps.client.createUpload(pathOf(bucket, key), ctx.principal.user, attributesFrom(ctx, dir), checksum);
  if (checksum) ctx.reply.header("x-amz-checksum-algorithm", checksum.algorithm.toUpperCase()).header("x-amz-checksum-type", checksum.type);
  return ctx.reply.type(XML).send(s3Xml("InitiateMultipartUploadResult", { Bucket: bucket, Key: key, UploadId: upload.uploadId }));
}

/**
 * The checksum an upload's parts carry (x-amz-checksum-algorithm) and how
 * the object's is made of them (x-amz-checksum-type; by default COMPOSITE,
 * FULL_OBJECT for CRC64NVME, its only kind).
 */
function requestedChecksum(ctx: S3Context): { algorithm: ChecksumAlgorithm; type: ChecksumType } | undefined {
  const name = ctx.req.headers["x-amz-checksum-algorithm"] as string | undefined;
  const typeName = ctx.req.headers["x-amz-checksum-type"] as string | undefined;
  if (name === undefined) {
    if (typeName !== undefined)
      throw s3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
    return undefined;
  }
  const algorithm = checksumAlgorithm(name);
  const types = checksumTypesOf(algorithm);
  const type = (typeName?.toUpperCase() ?? types[0]) as ChecksumType;
  if (!types.includes(type)) {
    throw s3Error("InvalidRequest", `The ${typeName} checksum type cannot be used with the ${algorithm} checksum algorithm.`);
  }
  return { algorithm, type };
}

/** The upload's algorithm, when it has one. */
function algorithmOf(upload: Upload): ChecksumAlgorithm | undefined {
  const name = upload.checksum?.algorithm;
  return name !== undefined && isChecksumAlgorithm(name) ? name : undefined;
}

/** A part may carry only its upload's algorithm (S3: "Checksum Type mismatch"). */
function checkPartChecksums(ctx: S3Context, upload: Upload): void {
  const expected = algorithmOf(upload);
  for (const { algorithm } of claimedChecksums(ctx.req.raw, ctx.auth)) {
    if (expected !== undefined && algorithm !== expected) {
      throw s3Error(
        "InvalidRequest",
        `Checksum Type mismatch occurred, expected checksum Type: ${expected}, actual checksum Type: ${algorithm}`,
      );
    }
  }
}

/** The checksum headers of an uploaded part: its upload's algorithm. */
function partChecksumHeaders(ctx: S3Context, upload: Upload, part: UploadPart): void {
  const algorithm = algorithmOf(upload);
  const value = algorithm && part.checksums?.[algorithm];
  if (algorithm && value) ctx.reply.header(`x-amz-checksum-${algorithm}`, value);
}

export async function uploadPart(ctx: S3Context, deps: S3Deps) {
  const partText = ctx.query.get("partNumber") ?? "";
  const partNumber = Number(partText);
  if (!/^\d+$/.test(partText) || partNumber < 1 || partNumber > 10000) {
    throw s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  }
  const upload = await uploadOf(ctx, deps);
  if (ctx.req.headers["x-amz-copy-source"] !== undefined) return uploadPartCopy(ctx, deps, upload, partNumber);
  checkPartChecksums(ctx, upload);
  const part = await withBody(
    ctx,
    deps,
    (body, _length, checksums) => deps.client.uploadPart(upload, partNumber, body, () => checksums),
    algorithmOf(upload),
  );
  partChecksumHeaders(ctx, upload, part);
  return ctx.reply.header("etag", quoteEtag(part.etag)).send();
}

/** UploadPartCopy: a part made of another object's bytes, all or `x-amz-copy-source-range`. */
async function uploadPartCopy(ctx: S3Context, deps: S3Deps, upload: Upload, partNumber: number) {
  const { src } = await copySourceOf(ctx, deps);
  const rangeHeader = ctx.req.headers["x-amz-copy-source-range"];
  let start = 0;
  let length = src.size;
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(rangeHeader).trim());
    if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= src.size) {
      throw s3Error("InvalidArgument", `Range specified is not valid for source object of size: ${src.size}`);
    }
    start = Number(m[1]);
    length = Number(m[2]) - start + 1;
  }
  const { body, checksums } = checksummed(await deps.client.readStream(src, start, length), algorithmOf(upload));
  const part = await deps.client.uploadPart(upload, partNumber, body, () => checksums);
  return ctx.reply
    .type(XML)
    .send(
      s3Xml("CopyPartResult", { LastModified: isoDate(part.mtimeMs), ETag: quoteEtag(part.etag), ...checksumElements(part.checksums) }),
    );
}

export async function listParts(ctx: S3Context, deps: S3Deps) {
  const upload = await uploadOf(ctx, deps);
  const after = Number(ctx.query.get("part-number-marker") ?? "0");
  const maxParts = Math.min(1000, Number(ctx.query.get("max-parts") ?? "1000"));
  if (!Number.isInteger(after) || after < 0 || !Number.isInteger(maxParts) || maxParts < 0) {
    throw s3Error("InvalidArgument", "part-number-marker and max-parts must be non-negative integers");
  }
  const page = await deps.client.listParts(upload.uploadId, after, maxParts);
  const last = page.parts[page.parts.length - 1];
  return ctx.reply.type(XML).send(
    s3Xml("ListPartsResult", {
      Bucket: ctx.bucket,
      Key: ctx.key,
      UploadId: upload.uploadId,
      Initiator: ownerOf(upload.owner),
      Owner: ownerOf(upload.owner),
      StorageClass: "STANDARD",
      ...(upload.checksum ? { ChecksumAlgorithm: upload.checksum.algorithm.toUpperCase(), ChecksumType: upload.checksum.type } : {}),
      PartNumberMarker: after,
      NextPartNumberMarker: last?.partNumber ?? after,
      MaxParts: maxParts,
      IsTruncated: page.truncated,
      ...(page.parts.length
        ? {
            Part: page.parts.map((p) => ({
              PartNumber: p.partNumber,
              LastModified: isoDate(p.mtimeMs),
              ETag: quoteEtag(p.etag),
              Size: p.size,
              ...checksumElements(p.checksums),
            })),
          }
        : {}),
    }),
  );
}

export async function listMultipartUploads(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  await requireBucket(deps.client, bucket);
  const prefix = ctx.query.get("prefix") ?? "";
  const keyMarker = ctx.query.get("key-marker") ?? "";
  const uploadIdMarker = ctx.query.get("upload-id-marker") ?? "";
  const maxUploads = Math.min(1000, Number(ctx.query.get("max-uploads") ?? "1000"));
  if (!Number.isInteger(maxUploads) || maxUploads < 0) throw s3Error("InvalidArgument", "max-uploads must be a non-negative integer");
  const { encodingType, enc } = encodingOf(ctx.query);
  const page = await deps.client.listUploads(bucket, { prefix, keyMarker, uploadIdMarker, maxUploads });
  const keyOf = (u: Upload) => u.path.slice(bucket.length + 2);
  const last = page.uploads[page.uploads.length - 1];
  return ctx.reply.type(XML).send(
    s3Xml("ListMultipartUploadsResult", {
      Bucket: bucket,
      KeyMarker: enc(keyMarker),
      UploadIdMarker: uploadIdMarker,
      NextKeyMarker: last ? enc(keyOf(last)) : "",
      NextUploadIdMarker: last?.uploadId ?? "",
      Prefix: enc(prefix),
      ...(encodingType ? { EncodingType: encodingType } : {}),
      MaxUploads: maxUploads,
      IsTruncated: page.truncated,
      ...(page.uploads.length
        ? {
            Upload: page.uploads.map((u) => ({
              Key: enc(keyOf(u)),
              UploadId: u.uploadId,
              Initiator: ownerOf(u.owner),
              Owner: ownerOf(u.owner),
              StorageClass: "STANDARD",
              Initiated: isoDate(u.initiatedMs),
            })),
          }
        : {}),
    }),
  );
}

export async function completeMultipartUpload(ctx: S3Context, deps: S3Deps) {
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 4 * 1024 * 1024, undefined, {
    headersAreTheObjects: true,
  });
  const doc = parseS3Xml(body, "CompleteMultipartUpload");
  const raw = (doc.Part ?? []) as unknown[];
  const listed = raw.map((p) => {
    const r = p as Record<string, unknown>;
    const partNumber = Number(r?.PartNumber);
    if (!Number.isInteger(partNumber) || typeof r?.ETag !== "string") throw s3Error("MalformedXML");
    const checksums: Record<string, string> = {};
    for (const [name, value] of Object.entries(r)) {
      if (name.startsWith("Checksum") && typeof value === "string") checksums[name.slice("Checksum".length).toLowerCase()] = value.trim();
    }
    return { partNumber, etag: r.ETag.trim(), checksums };
  });
  if (listed.length === 0) throw s3Error("MalformedXML", "You must specify at least one part");
  const upload = await uploadOf(ctx, deps, true);
  // Completing again (a client retrying after a lost answer) answers the same.
  if (upload.completedEtag !== undefined) return completed(ctx, upload.completedEtag, undefined);
  const condition = await writeCondition(ctx, deps);
  const info = await deps.client.completeUpload(
    upload.uploadId,
    listed.map(({ partNumber, etag }) => ({ partNumber, etag })),
    {
      attributesFor: (plan) => objectChecksum(ctx, plan, listed),
      ...(condition ? { condition } : {}),
    },
  );
  versionHeader(ctx, info);
  return completed(ctx, info.etag, info.checksumType ? { checksums: info.checksums ?? {}, type: info.checksumType } : undefined);
}

function completed(ctx: S3Context, etag: string, checksum: { checksums: Record<string, string>; type: ChecksumType } | undefined) {
  return ctx.reply.type(XML).send(
    s3Xml("CompleteMultipartUploadResult", {
      Location: `/${ctx.bucket}/${ctx.key}`,
      Bucket: ctx.bucket,
      Key: ctx.key,
      ETag: quoteEtag(etag),
      ...(checksum ? { ...checksumElements(checksum.checksums), ChecksumType: checksum.type } : {}),
    }),
  );
}

/**
 * The object's checksum from its parts', as its upload asked: each part's
 * checksum listed in the request must be the part's (all of them, for a
 * COMPOSITE one), and a whole-object checksum sent with the request must be
 * the object's.
 */
async function objectChecksum(
  ctx: S3Context,
  plan: CompletePlan,
  listed: { partNumber: number; checksums: Record<string, string> }[],
): Promise<FileAttributes> {
  const upload = plan.upload;
  const algorithm = algorithmOf(upload);
  const typeHeader = ctx.req.headers["x-amz-checksum-type"] as string | undefined;
  if (typeHeader !== undefined && typeHeader.toUpperCase() !== (upload.checksum?.type ?? "")) {
    throw s3Error(
      "InvalidRequest",
      `The upload was created using the ${upload.checksum?.type ?? "no"} checksum type; the complete request said ${typeHeader}`,
    );
  }
  for (const [i, entry] of listed.entries()) {
    const part = plan.parts[i] as UploadPart;
    for (const [name, value] of Object.entries(entry.checksums)) {
      if (part.checksums?.[name] !== value)
        throw s3Error("InvalidPart", `The ${name} checksum of part ${entry.partNumber} is not the one it was uploaded with`);
    }
    if (algorithm && upload.checksum?.type === "COMPOSITE" && entry.checksums[algorithm] === undefined) {
      throw s3Error(
        "InvalidRequest",
        `The upload was created using a ${algorithm} checksum. The complete request must include the checksum for each part. It was missing for part ${entry.partNumber} in the request.`,
      );
    }
  }
  if (!algorithm || !upload.checksum) return {};
  const partSums = plan.parts.map((p) => {
    const value = p.checksums?.[algorithm];
    if (value === undefined) throw s3Error("InvalidRequest", `Part ${p.partNumber} has no ${algorithm} checksum`);
    return value;
  });
  const value =
    upload.checksum.type === "COMPOSITE"
      ? await compositeChecksum(algorithm, partSums)
      : combineCrcs(
          algorithm,
          plan.parts.map((p, i) => ({ checksum: partSums[i] as string, size: p.size })),
        );
  const sent = ctx.req.headers[`x-amz-checksum-${algorithm}`];
  if (sent !== undefined && sent !== value && `${sent}-${plan.parts.length}` !== value) {
    throw s3Error("BadDigest", `The x-amz-checksum-${algorithm} you specified did not match the calculated checksum.`);
  }
  return { checksums: { [algorithm]: value }, checksumType: upload.checksum.type };
}

export async function abortMultipartUpload(ctx: S3Context, deps: S3Deps) {
  const upload = await uploadOf(ctx, deps);
  await deps.client.abortUpload(upload.uploadId);
  return ctx.reply.code(204).send();
}
