import type { Upload } from "@koine/protocol";
import { readSmallBody } from "./body.ts";
import { requireBucket } from "./buckets.ts";
import { isoDate, ownerOf, quoteEtag, type S3Context, type S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { checkKey, pathOf } from "./names.ts";
import { attributesFrom, copySourceOf, withBody } from "./objects.ts";
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
  if (key.endsWith("/")) throw s3Error("InvalidArgument", 'A key ending in "/" names a folder and holds no bytes in koine');
  const dir = await requireBucket(deps.client, bucket);
  const upload = await deps.client.createUpload(pathOf(bucket, key), ctx.principal.user, attributesFrom(ctx, dir));
  return ctx.reply.type(XML).send(s3Xml("InitiateMultipartUploadResult", { Bucket: bucket, Key: key, UploadId: upload.uploadId }));
}

export async function uploadPart(ctx: S3Context, deps: S3Deps) {
  const partText = ctx.query.get("partNumber") ?? "";
  const partNumber = Number(partText);
  if (!/^\d+$/.test(partText) || partNumber < 1 || partNumber > 10000) {
    throw s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  }
  const upload = await uploadOf(ctx, deps);
  if (ctx.req.headers["x-amz-copy-source"] !== undefined) return uploadPartCopy(ctx, deps, upload, partNumber);
  const part = await withBody(ctx, deps, (body) => deps.client.uploadPart(upload, partNumber, body));
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
  const part = await deps.client.uploadPart(upload, partNumber, await deps.client.readStream(src, start, length));
  return ctx.reply.type(XML).send(s3Xml("CopyPartResult", { LastModified: isoDate(part.mtimeMs), ETag: quoteEtag(part.etag) }));
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
  const page = await deps.client.listUploads(bucket, { prefix, keyMarker, uploadIdMarker, maxUploads });
  const keyOf = (u: Upload) => u.path.slice(bucket.length + 2);
  const last = page.uploads[page.uploads.length - 1];
  return ctx.reply.type(XML).send(
    s3Xml("ListMultipartUploadsResult", {
      Bucket: bucket,
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker,
      NextKeyMarker: last ? keyOf(last) : "",
      NextUploadIdMarker: last?.uploadId ?? "",
      Prefix: prefix,
      MaxUploads: maxUploads,
      IsTruncated: page.truncated,
      ...(page.uploads.length
        ? {
            Upload: page.uploads.map((u) => ({
              Key: keyOf(u),
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
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 4 * 1024 * 1024);
  const doc = parseS3Xml(body, "CompleteMultipartUpload");
  const raw = (doc.Part ?? []) as unknown[];
  const parts = raw.map((p) => {
    const r = p as Record<string, unknown>;
    const partNumber = Number(r?.PartNumber);
    if (!Number.isInteger(partNumber) || typeof r?.ETag !== "string") throw s3Error("MalformedXML");
    return { partNumber, etag: r.ETag.trim() };
  });
  if (parts.length === 0) throw s3Error("MalformedXML", "You must specify at least one part");
  const upload = await uploadOf(ctx, deps, true);
  // Completing again (a client retrying after a lost answer) answers the same.
  const etag = upload.completedEtag ?? (await deps.client.completeUpload(upload.uploadId, parts)).etag;
  return ctx.reply.type(XML).send(
    s3Xml("CompleteMultipartUploadResult", {
      Location: `/${ctx.bucket}/${ctx.key}`,
      Bucket: ctx.bucket,
      Key: ctx.key,
      ETag: quoteEtag(etag),
    }),
  );
}

export async function abortMultipartUpload(ctx: S3Context, deps: S3Deps) {
  const upload = await uploadOf(ctx, deps);
  await deps.client.abortUpload(upload.uploadId);
  return ctx.reply.code(204).send();
}
