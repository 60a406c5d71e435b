import { type FileInfo, versionIdOf } from "@koine/protocol";
import { readSmallBody } from "./body.ts";
import { listingParams, requireBucket } from "./buckets.ts";
import { EMPTY_MD5, isoDate, ownerOf, quoteEtag, type S3Context, type S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

const XML = "application/xml";

/** Whether `text` can be a version id: koine's are 14 hex digits, or "null". */
export function isVersionId(text: string): boolean {
  return text === "null" || /^[0-9a-f]{14}$/.test(text);
}

/** The version id a request names (`?versionId`), checked. */
export function requestedVersion(ctx: S3Context): string | undefined {
  return checkedVersion(ctx.query.get("versionId"));
}

export function checkedVersion(versionId: string | undefined): string | undefined {
  if (versionId === undefined || isVersionId(versionId)) return versionId;
  throw s3Error("InvalidArgument", "Invalid version id specified", { ArgumentName: "versionId", ArgumentValue: versionId });
}

/** x-amz-version-id of a version written in a bucket with versioning (none before it). */
export function versionHeader(ctx: S3Context, info: FileInfo, name = "x-amz-version-id"): void {
  if (info.version !== undefined) ctx.reply.header(name, versionIdOf(info));
}

/** PutBucketVersioning: Enabled or Suspended (once enabled, a bucket is never unversioned again). */
export async function putBucketVersioning(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const doc = parseS3Xml(body, "VersioningConfiguration");
  const status = doc.Status;
  if (status !== "Enabled" && status !== "Suspended") throw s3Error("MalformedXML");
  if (doc.MfaDelete === "Enabled") throw s3Error("NotImplemented", "MFA delete is not implemented");
  const dir = await requireBucket(deps.client, bucket);
  if (dir.objectLock && status === "Suspended") {
    throw s3Error(
      "InvalidBucketState",
      "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.",
    );
  }
  await deps.client.setAttributes(pathOf(bucket), { versioning: status });
  return ctx.reply.send();
}

export async function getBucketVersioning(ctx: S3Context, deps: S3Deps) {
  const dir = await requireBucket(deps.client, ctx.bucket as string);
  return ctx.reply.type(XML).send(s3Xml("VersioningConfiguration", dir.versioning ? { Status: dir.versioning } : {}));
}

/** ListObjectVersions: every version of every key (newest first per key), delete markers, common prefixes. */
export async function listObjectVersions(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const q = ctx.query;
  const { maxKeys, encodingType, enc, prefix, delimiter } = listingParams(q);
  const keyMarker = q.get("key-marker") ?? "";
  const versionIdMarker = q.get("version-id-marker") ?? "";
  if (versionIdMarker !== "" && keyMarker === "") {
    throw s3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.", {
      ArgumentName: "version-id-marker",
      ArgumentValue: versionIdMarker,
    });
  }
  await requireBucket(deps.client, bucket);
  const page = await deps.client.listVersions(bucket, { prefix, delimiter, keyMarker, versionIdMarker, maxKeys });
  const entry = ({ key, info, latest }: (typeof page.versions)[number]) => ({
    Key: enc(key),
    VersionId: versionIdOf(info),
    IsLatest: latest,
    LastModified: isoDate(info.mtimeMs),
    ...(info.deleteMarker ? {} : { ETag: quoteEtag(info.etag || EMPTY_MD5), Size: info.size, StorageClass: "STANDARD" }),
    Owner: ownerOf(info.owner || ctx.principal.user),
  });
  const versions = page.versions.filter((v) => !v.info.deleteMarker).map(entry);
  const markers = page.versions.filter((v) => v.info.deleteMarker).map(entry);
  const common = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  return ctx.reply.type(XML).send(
    s3Xml("ListVersionsResult", {
      Name: bucket,
      Prefix: enc(prefix),
      KeyMarker: enc(keyMarker),
      VersionIdMarker: versionIdMarker,
      ...(page.truncated ? { NextKeyMarker: enc(page.nextKeyMarker), NextVersionIdMarker: page.nextVersionIdMarker } : {}),
      MaxKeys: maxKeys,
      ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
      IsTruncated: page.truncated,
      ...(versions.length ? { Version: versions } : {}),
      ...(markers.length ? { DeleteMarker: markers } : {}),
      ...(common.length ? { CommonPrefixes: common } : {}),
      ...(encodingType ? { EncodingType: encodingType } : {}),
    }),
  );
}
