import type { FileSystemClient } from "@koine/client";
import { ErrorCode, type FileInfo, KoineError, type ListKeysReply } from "@koine/protocol";
import { requestedGrants } from "./access.ts";
import { readSmallBody } from "./body.ts";
import { isoDate, ownerOf, quoteEtag, type S3Context, type S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { checkBucketName, pathOf } from "./names.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

const XML = "application/xml";

const MAX_BUCKETS = 10_000;

/** ListBuckets: the signer's buckets, by name, paged by max-buckets and continuation-token, below a prefix. */
export async function listBuckets(ctx: S3Context, { client, region }: S3Deps) {
  const q = ctx.query;
  const maxText = q.get("max-buckets") ?? String(MAX_BUCKETS);
  const max = Number(maxText);
  if (!/^\d+$/.test(maxText) || max < 1 || max > MAX_BUCKETS) {
    throw s3Error("InvalidArgument", `max-buckets must be an integer between 1 and ${MAX_BUCKETS}`, {
      ArgumentName: "max-buckets",
      ArgumentValue: maxText,
    });
  }
  const prefix = q.get("prefix") ?? "";
  const token = q.get("continuation-token");
  const startAfter = token === undefined ? "" : decodeToken(token);
  const buckets = [];
  let truncated = false;
  let after: string | undefined = startAfter || undefined;
  for (;;) {
    const page = await client.list("/", { limit: 1000, ...(after === undefined ? {} : { after }) });
    for (const e of page.entries) {
      if (e.type !== "directory" || !e.name.startsWith(prefix)) continue;
      if (!ctx.principal.admin && e.owner !== ctx.principal.user) continue;
      if (buckets.length === max) {
        truncated = true;
        break;
      }
      buckets.push({ Name: e.name, CreationDate: isoDate(e.createdMs), BucketRegion: region });
    }
    if (truncated || !page.truncated) break;
    after = page.entries[page.entries.length - 1]?.name;
  }
  const last = buckets[buckets.length - 1]?.Name;
  return ctx.reply.type(XML).send(
    s3Xml("ListAllMyBucketsResult", {
      Owner: ownerOf(ctx.principal.user),
      Buckets: { Bucket: buckets },
      ...(truncated && last !== undefined ? { ContinuationToken: encodeToken(last) } : {}),
      ...(q.has("prefix") ? { Prefix: prefix } : {}),
    }),
  );
}

/** A continuation token: the name a page ended at, opaque to clients. */
function encodeToken(last: string): string {
  return Buffer.from(last, "utf8").toString("base64url");
}

/** The name a continuation token says a page ended at; "" (S3: from the start) for an empty one. */
function decodeToken(token: string): string {
  const last = Buffer.from(token, "base64url").toString("utf8");
  if (encodeToken(last) !== token) throw s3Error("InvalidArgument", "The continuation token provided is incorrect");
  return last;
}

export async function createBucket(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  checkBucketName(bucket);
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  if (body.length > 0) {
    const config = parseS3Xml(body, "CreateBucketConfiguration");
    const location = config.LocationConstraint;
    if (location !== undefined && location !== "" && location !== deps.region) {
      throw s3Error("InvalidArgument", `This endpoint serves region ${deps.region}, not ${String(location)}`);
    }
  }
  const { principal } = ctx;
  const grants = requestedGrants(ctx.req.headers, principal.user);
  try {
    // Private, as S3 makes a bucket: its owner's alone until an ACL or a policy opens it.
    await deps.client.mkdir(pathOf(bucket), { exclusive: true, owner: principal.user, group: principal.groups[0] ?? "", mode: 0o700 });
    if (grants?.length) await deps.client.setAttributes(pathOf(bucket), { grants });
    // A bucket made with Object Lock has versioning on for good.
    if (String(ctx.req.headers["x-amz-bucket-object-lock-enabled"] ?? "").toLowerCase() === "true") {
      await deps.client.setAttributes(pathOf(bucket), { versioning: "Enabled", objectLock: {} });
    }
  } catch (err) {
    if (!(err instanceof KoineError && err.code === ErrorCode.AlreadyExists)) throw err;
    const existing = await deps.client.stat(pathOf(bucket));
    if (existing.owner !== principal.user) throw s3Error("BucketAlreadyExists", undefined, { BucketName: bucket });
    // us-east-1 answers its owner 200 and resets the bucket's ACL (S3's legacy); every other region, 409.
    if (deps.region !== "us-east-1") throw s3Error("BucketAlreadyOwnedByYou", undefined, { BucketName: bucket });
    await deps.client.setAttributes(pathOf(bucket), { grants: grants ?? [] });
  }
  return ctx.reply.header("location", `/${bucket}`).send();
}

/** The bucket's directory, or NoSuchBucket. */
export async function requireBucket(client: FileSystemClient, bucket: string): Promise<FileInfo> {
  const info = await client.find(pathOf(bucket));
  if (info?.type === "directory") return info;
  throw s3Error("NoSuchBucket", undefined, { BucketName: bucket });
}

export async function headBucket(ctx: S3Context, deps: S3Deps) {
  await requireBucket(deps.client, ctx.bucket as string);
  return ctx.reply.header("x-amz-bucket-region", deps.region).send();
}

export async function deleteBucket(ctx: S3Context, deps: S3Deps) {
  const dir = await requireBucket(deps.client, ctx.bucket as string);
  // Noncurrent versions and delete markers are objects of the bucket too.
  const kept = dir.versioning
    ? await deps.client.listVersions(dir.name, { prefix: "", delimiter: "", keyMarker: "", versionIdMarker: "", maxKeys: 1 })
    : undefined;
  if (kept?.versions.length) throw s3Error("BucketNotEmpty", undefined, { BucketName: dir.name });
  await deps.client.delete(pathOf(ctx.bucket as string), { recursive: false });
  return ctx.reply.code(204).send();
}

export async function getBucketLocation(ctx: S3Context, deps: S3Deps) {
  await requireBucket(deps.client, ctx.bucket as string);
  const region = deps.region === "us-east-1" ? "" : deps.region;
  return ctx.reply.type(XML).send(s3Xml("LocationConstraint", { "#text": region }));
}

/** A name as encoding-type=url gives it (every byte but unreserved ones and "/" percent-encoded). */
function urlEncode(text: string): string {
  // encodeURIComponent leaves !'()* as they are; they are not unreserved, and a client decoding XML then percent-escapes needs them escaped.
  return encodeURIComponent(text)
    .replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => `%${(c.codePointAt(0) as number).toString(16).toUpperCase()}`);
}

/** A listing's encoding-type, and how it gives each name it returns. */
export function encodingOf(q: Map<string, string>): { encodingType: string | undefined; enc: (name: string) => string } {
  const encodingType = q.get("encoding-type");
  if (encodingType !== undefined && encodingType !== "url")
    throw s3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
  return { encodingType, enc: encodingType === "url" ? urlEncode : (s: string) => s };
}

/** What every listing of keys takes: max-keys, encoding-type, prefix, delimiter. */
export function listingParams(q: Map<string, string>) {
  const maxKeysText = q.get("max-keys") ?? "1000";
  if (!/^\d+$/.test(maxKeysText)) throw s3Error("InvalidArgument", "max-keys must be a non-negative integer");
  return {
    maxKeys: Math.min(1000, Number(maxKeysText)),
    ...encodingOf(q),
    prefix: q.get("prefix") ?? "",
    delimiter: q.get("delimiter") ?? "",
  };
}

/** A page of keys; max-keys=0 is an empty page that is not truncated, as S3 answers it. */
function listKeys(client: FileSystemClient, bucket: string, options: Parameters<FileSystemClient["listKeys"]>[1]): Promise<ListKeysReply> {
  if (options.maxKeys === 0) return Promise.resolve({ keys: [], commonPrefixes: [], truncated: false, last: "" });
  return client.listKeys(bucket, options);
}

/** ListObjects (v1) and ListObjectsV2. */
export async function listObjects(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const q = ctx.query;
  const v2 = q.get("list-type") === "2";
  const { maxKeys, encodingType, enc, prefix, delimiter } = listingParams(q);
  let startAfter = "";
  if (v2) {
    // An empty token starts at the start (after start-after), as S3 does.
    const token = q.get("continuation-token") || undefined;
    startAfter = token !== undefined ? decodeToken(token) : (q.get("start-after") ?? "");
  } else {
    startAfter = q.get("marker") ?? "";
  }
  const page = await listKeys(deps.client, bucket, { prefix, delimiter, startAfter, maxKeys });
  const fetchOwner = !v2 || q.get("fetch-owner") === "true";
  const contents = page.keys.map((k) => ({
    Key: enc(k.key),
    LastModified: isoDate(k.mtimeMs),
    ETag: quoteEtag(k.etag),
    Size: k.size,
    ...(fetchOwner ? { Owner: ownerOf(k.owner || ctx.principal.user) } : {}),
    StorageClass: "STANDARD",
  }));
  const common = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  const head: Record<string, unknown> = { Name: bucket, Prefix: enc(prefix) };
  if (v2) {
    if (q.has("continuation-token")) head.ContinuationToken = q.get("continuation-token");
    if (q.has("start-after")) head.StartAfter = enc(q.get("start-after") ?? "");
    head.KeyCount = contents.length + common.length;
  } else {
    head.Marker = enc(q.get("marker") ?? "");
  }
  head.MaxKeys = maxKeys;
  if (delimiter) head.Delimiter = enc(delimiter);
  head.IsTruncated = page.truncated;
  if (page.truncated) {
    if (v2) head.NextContinuationToken = encodeToken(page.last);
    else if (delimiter) head.NextMarker = enc(page.last);
  }
  if (encodingType) head.EncodingType = encodingType;
  return ctx.reply.type(XML).send(
    s3Xml("ListBucketResult", {
      ...head,
      ...(contents.length ? { Contents: contents } : {}),
      ...(common.length ? { CommonPrefixes: common } : {}),
    }),
  );
}
