import type { IncomingHttpHeaders } from "node:http";
import type { FileSystemClient } from "@koine/client";
import { ErrorCode, type FileAttributes, type FileInfo, isObjectAt, KoineError, versionIdOf, type WriteCondition } from "@koine/protocol";
import { checkPublicGrants, requestedGrants } from "./access.ts";
import { decodeBody, readSmallBody } from "./body.ts";
import { requireBucket } from "./buckets.ts";
import { type ChecksumAlgorithm, checksumAlgorithm, checksummed, isChecksumAlgorithm } from "./checksums.ts";
import { checkConditions } from "./conditions.ts";
import { EMPTY_MD5, httpDate, isoDate, quoteEtag, type S3Context, type S3Deps } from "./context.ts";
import { S3Error, s3Error, toS3Error } from "./errors.ts";
import { checkBucketName, checkKey, pathOf } from "./names.ts";
import { bypassesGovernance, lockAttributes, lockHeaders } from "./object_lock.ts";
import { tagsFromHeader } from "./tagging.ts";
import { checkedVersion, isVersionId, requestedVersion, versionHeader } from "./versions.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

const XML = "application/xml";
const DEFAULT_CONTENT_TYPE = "binary/octet-stream";
const MAX_DELETE_KEYS = 1000;

/** The object at bucket/key: a file, or a directory that is also an object ("dir/"). */
export async function resolveObject(client: FileSystemClient, bucket: string, key: string, versionId?: string): Promise<FileInfo> {
  if (versionId !== undefined) return resolveVersion(client, bucket, key, versionId);
  const info = await client.find(pathOf(bucket, key));
  if (isObjectAt(info, pathOf(bucket, key))) return info;
  const dir = await requireBucket(client, bucket);
  const missing = s3Error("NoSuchKey", undefined, { Key: key });
  if (dir.versioning) {
    // A key whose current version is a delete marker says so.
    const page = await client.listVersions(bucket, { prefix: key, delimiter: "", keyMarker: "", versionIdMarker: "", maxKeys: 1 });
    const first = page.versions[0];
    if (first?.key === key && first.latest && first.info.deleteMarker) {
      Object.assign(missing.headers, { "x-amz-delete-marker": "true", "x-amz-version-id": versionIdOf(first.info) });
    }
  }
  throw missing;
}

/** The object of a request, or the version its `versionId` names, answering which version it is. */
export async function requestedObject(ctx: S3Context, deps: S3Deps): Promise<FileInfo> {
  const info = await resolveObject(deps.client, ctx.bucket as string, ctx.key as string, requestedVersion(ctx));
  versionHeader(ctx, info);
  return info;
}

/** Version `versionId` of bucket/key, current or not: NoSuchVersion when there is none, 405 for a delete marker. */
async function resolveVersion(client: FileSystemClient, bucket: string, key: string, versionId: string): Promise<FileInfo> {
  let info: FileInfo;
  try {
    info = await client.getVersion(pathOf(bucket, key), versionId);
  } catch (err) {
    if (!(err instanceof KoineError && err.code === ErrorCode.NotFound)) throw err;
    await requireBucket(client, bucket);
    throw s3Error("NoSuchVersion", undefined, { Key: key, VersionId: versionId });
  }
  if (!info.deleteMarker) return info;
  const marker = s3Error("MethodNotAllowed", undefined, { Method: "GET", ResourceType: "DeleteMarker" });
  Object.assign(marker.headers, { "x-amz-delete-marker": "true", "x-amz-version-id": versionId, "last-modified": httpDate(info.mtimeMs) });
  throw marker;
}

/** Standard headers S3 stores with an object and returns on GET and HEAD. */
const STORED_HEADERS = ["cache-control", "content-disposition", "content-encoding", "content-language", "expires"] as const;

/** The object named (a key), or the bucket itself (no key); and the bucket. */
export async function resolveObjectOrBucket(
  client: FileSystemClient,
  bucket: string,
  key: string | undefined,
  versionId?: string,
): Promise<{ target: FileInfo; bucket: FileInfo }> {
  const dir = await requireBucket(client, bucket);
  return { target: key === undefined ? dir : await resolveObject(client, bucket, key, versionId), bucket: dir };
}

/**
 * Attributes an upload into `bucket` sets: Content-Type, x-amz-meta-*, the
 * stored headers, tags, and who owns it: the signer, with its first group,
 * private (mode 0600) but for the grants of the request's ACL headers.
 */
export function attributesFrom(ctx: S3Context, bucket: FileInfo, headers: IncomingHttpHeaders = ctx.req.headers): FileAttributes {
  const userMeta: Record<string, string> = {};
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("x-amz-meta-") && typeof value === "string") userMeta[name.slice(11)] = value;
  }
  for (const name of STORED_HEADERS) {
    let value = headers[name];
    if (typeof value !== "string") continue;
    // aws-chunked is how the body travelled, not what it is; any other coding is kept exactly as sent.
    if (name === "content-encoding" && /(^|,)\s*aws-chunked\s*(,|$)/i.test(value))
      value = value
        .split(",")
        .filter((v) => v.trim().toLowerCase() !== "aws-chunked")
        .join(",")
        .trim();
    if (value) stored[name] = value;
  }
  const tags = tagsFromHeader(headers["x-amz-tagging"] as string | undefined);
  const grants = requestedGrants(headers, bucket.owner);
  if (grants) checkPublicGrants(bucket, grants);
  return {
    ...(grants?.length ? { grants } : {}),
    contentType: (headers["content-type"] as string | undefined) ?? DEFAULT_CONTENT_TYPE,
    userMeta,
    headers: stored,
    ...(tags ? { tags } : {}),
    ...ownership(ctx),
    ...lockAttributes(headers, bucket),
  };
}

/** The owner, group and mode of what the signer of `ctx` creates through S3. */
function ownership(ctx: S3Context): Pick<FileAttributes, "owner" | "group" | "mode"> {
  return { owner: ctx.principal.user, group: ctx.principal.groups[0] ?? "", mode: 0o600 };
}

/**
 * Runs `write` on the verified request body. When the body failed a check
 * (signature, digest, length, timeout), that failure is what the client hears.
 */
export async function withBody<T>(
  ctx: S3Context,
  deps: S3Deps,
  write: (body: AsyncIterable<Buffer>, length: number | undefined, checksums: Record<string, string>) => Promise<T>,
  compute?: ChecksumAlgorithm,
): Promise<T> {
  const { body, length, checksums } = decodeBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, compute ? { compute } : {});
  let bodyError: unknown;
  async function* tracked() {
    try {
      yield* body;
    } catch (err) {
      bodyError = err;
      throw err;
    }
  }
  try {
    return await write(tracked(), length, checksums);
  } catch (err) {
    throw bodyError ?? err;
  }
}

export async function putObject(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  checkKey(key);
  if (ctx.req.headers["x-amz-copy-source"] !== undefined) return copyObject(ctx, deps);
  const dir = await requireBucket(deps.client, bucket);
  const condition = await writeCondition(ctx, deps);
  const attributes = attributesFrom(ctx, dir);
  const info = await conditionally(ctx, () =>
    withBody(ctx, deps, (body, length, checksums) => {
      refuseVersionedFolderBytes(dir, key, length);
      // The checksums are filled in when the body ends, before the commit sends them.
      return deps.client.writeFile(pathOf(bucket, key), body, {
        attributes: { ...attributes, checksums },
        ...(length === undefined ? {} : { sizeHint: length }),
        ...(condition ? { condition } : {}),
      });
    }),
  );
  checksumHeaders(ctx, info.checksums, "FULL_OBJECT");
  versionHeader(ctx, info);
  return ctx.reply.header("etag", quoteEtag(info.etag || EMPTY_MD5)).send();
}

/**
 * The condition of a conditional write (PUT, CompleteMultipartUpload):
 * If-None-Match "*" (only if no object is there) or If-Match (only over
 * that version). Checked here against a fresh stat, to fail early, and
 * again by metadata in the commit's turn, so that of racing conditional
 * writes one wins.
 */
export async function writeCondition(ctx: S3Context, deps: S3Deps): Promise<WriteCondition | undefined> {
  const ifNoneMatch = ctx.req.headers["if-none-match"];
  const ifMatch = ctx.req.headers["if-match"];
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== "*") {
    throw s3Error("NotImplemented", 'If-None-Match on a write supports only "*"');
  }
  const path = pathOf(ctx.bucket as string, ctx.key);
  deps.client.forget(path);
  const current = await resolveObject(deps.client, ctx.bucket as string, ctx.key as string).catch((err) => {
    if (err instanceof S3Error && err.code === "NoSuchKey") return undefined;
    throw err;
  });
  if (ifNoneMatch !== undefined) {
    if (current) throw s3Error("PreconditionFailed", undefined, { Condition: "If-None-Match" });
    return { absent: true };
  }
  if (!current) throw s3Error("NoSuchKey", undefined, { Key: ctx.key as string });
  checkConditions(current, { ifMatch });
  return { etag: current.etag || EMPTY_MD5 };
}

/** Runs a conditional write; a condition metadata found false in the commit's turn is S3's 412, naming the header. */
export async function conditionally<T>(ctx: S3Context, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof KoineError && err.code === ErrorCode.ConditionNotMet)) throw err;
    const header = ctx.req.headers["if-none-match"] !== undefined ? "If-None-Match" : "If-Match";
    throw s3Error("PreconditionFailed", undefined, { Condition: header });
  }
}

/** Checksums as S3's headers (x-amz-checksum-crc32, …, and x-amz-checksum-type); other dialects' stay unsaid. */
function checksumHeaders(ctx: S3Context, checksums: Record<string, string> | undefined, type: string): void {
  let any = false;
  for (const [algorithm, value] of Object.entries(checksums ?? {})) {
    if (!isChecksumAlgorithm(algorithm)) continue;
    ctx.reply.header(`x-amz-checksum-${algorithm}`, value);
    any = true;
  }
  if (any) ctx.reply.header("x-amz-checksum-type", type);
}

/** Checksums as S3's XML elements: ChecksumCRC32, ChecksumSHA256, … */
export function checksumElements(checksums: Record<string, string> | undefined): Record<string, string> {
  const elements: Record<string, string> = {};
  for (const [algorithm, value] of Object.entries(checksums ?? {})) {
    if (isChecksumAlgorithm(algorithm)) elements[`Checksum${algorithm.toUpperCase()}`] = value;
  }
  return elements;
}

function objectHeaders(ctx: S3Context, info: FileInfo): void {
  ctx.reply.header("etag", quoteEtag(info.etag || EMPTY_MD5));
  ctx.reply.header("last-modified", httpDate(info.mtimeMs));
  ctx.reply.header("content-type", info.contentType || DEFAULT_CONTENT_TYPE);
  ctx.reply.header("accept-ranges", "bytes");
  for (const [name, value] of Object.entries(info.userMeta)) ctx.reply.header(`x-amz-meta-${name}`, value);
  for (const [name, value] of Object.entries(info.headers ?? {})) ctx.reply.header(name, value);
  const tagCount = Object.keys(info.tags ?? {}).length;
  if (tagCount > 0) ctx.reply.header("x-amz-tagging-count", tagCount);
  lockHeaders(ctx, info);
  // GET may override the stored headers (presigned download links use this).
  for (const name of ["content-type", ...STORED_HEADERS]) {
    const override = ctx.query.get(`response-${name}`);
    if (override !== undefined) ctx.reply.header(name, override);
  }
}

/**
 * The part `?partNumber=` asks for: its byte range and checksums (an object
 * not written in parts is its own part 1).
 */
function partOf(
  ctx: S3Context,
  info: FileInfo,
): { range?: { start: number; end: number }; checksums?: Record<string, string> } | undefined {
  const text = ctx.query.get("partNumber");
  if (text === undefined) return undefined;
  const number = Number(text);
  if (!/^\d+$/.test(text) || number < 1 || number > 10000) {
    throw s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", {
      ArgumentName: "partNumber",
      ArgumentValue: text,
    });
  }
  if (ctx.req.headers.range !== undefined)
    throw s3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter");
  const parts = info.parts ?? [{ size: info.size }];
  if (number > parts.length) throw s3Error("InvalidPartNumber");
  let start = 0;
  for (let i = 0; i < number - 1; i++) start += (parts[i] as { size: number }).size;
  const part = parts[number - 1] as { size: number; checksums?: Record<string, string> };
  return {
    // An empty part has no bytes to range over.
    ...(part.size > 0 ? { range: { start, end: start + part.size - 1 } } : {}),
    ...(part.checksums ? { checksums: part.checksums } : {}),
  };
}

/** A single byte range of an object of `size` bytes; undefined means the whole object. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) throw s3Error("InvalidRange", undefined, { RangeRequested: header, ActualObjectSize: String(size) });
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw s3Error("InvalidRange", undefined, { RangeRequested: header, ActualObjectSize: String(size) });
  return { start, end };
}

/** Opens the bytes of an object; if the current version changed under us, once more with a fresh stat. */
async function openObject(deps: S3Deps, bucket: string, key: string, info: FileInfo, start: number, length: number, current: boolean) {
  try {
    return { info, stream: await deps.client.read(info, start, length) };
  } catch (err) {
    if (!(err instanceof KoineError && err.code === ErrorCode.Stale) || !current) throw err;
    await deps.client.refresh(pathOf(bucket, key)).catch(() => {}); // the namespace takes the under-store's version
    const fresh = await resolveObject(deps.client, bucket, key);
    if (fresh.size !== info.size) throw err;
    return { info: fresh, stream: await deps.client.read(fresh, start, length) };
  }
}

export async function getObject(ctx: S3Context, deps: S3Deps, headOnly = false) {
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  const versionId = requestedVersion(ctx);
  const info = await resolveObject(deps.client, bucket, key, versionId);
  versionHeader(ctx, info);
  const h = ctx.req.headers;
  const outcome = checkConditions(info, {
    ifMatch: h["if-match"],
    ifNoneMatch: h["if-none-match"],
    ifModifiedSince: h["if-modified-since"],
    ifUnmodifiedSince: h["if-unmodified-since"],
  });
  if (outcome === "not-modified") {
    return ctx.reply
      .code(304)
      .header("etag", quoteEtag(info.etag || EMPTY_MD5))
      .header("last-modified", httpDate(info.mtimeMs))
      .send();
  }
  const part = partOf(ctx, info);
  let range: { start: number; end: number } | undefined;
  try {
    range = part ? part.range : parseRange(ctx.req.headers.range, info.size);
  } catch (err) {
    if (err instanceof S3Error && err.code === "InvalidRange") ctx.reply.header("content-range", `bytes */${info.size}`);
    throw err;
  }
  const start = range?.start ?? 0;
  // A part with no bytes (only ever the last) is an empty answer.
  const length = range ? range.end - range.start + 1 : part ? 0 : info.size;
  // Checksums go only with what they are of (the object, or a part asked for by number), and only
  // once its bytes are open (an error after must not carry them).
  const checksums = (served: FileInfo) => {
    if (ctx.req.headers["x-amz-checksum-mode"] !== "ENABLED") return;
    if (part) {
      if (served.checksumType === "COMPOSITE") checksumHeaders(ctx, part.checksums, "COMPOSITE");
      else if (!served.parts) checksumHeaders(ctx, served.checksums, "FULL_OBJECT");
      return;
    }
    if (!range) checksumHeaders(ctx, served.checksums, served.checksumType ?? "FULL_OBJECT");
  };
  if (info.parts) ctx.reply.header("x-amz-mp-parts-count", info.parts.length);
  if (range) ctx.reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
  if (headOnly) {
    checksums(info);
    objectHeaders(ctx, info);
    return ctx.reply.header("content-length", length).send();
  }
  const opened = await openObject(deps, bucket, key, info, start, length, versionId === undefined);
  checksums(opened.info);
  objectHeaders(ctx, opened.info);
  return ctx.reply.header("content-length", length).send(opened.stream);
}

const OBJECT_ATTRIBUTES = new Set(["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]);

/** GetObjectAttributes: what x-amz-object-attributes names, of an object, without its bytes. */
export async function getObjectAttributes(ctx: S3Context, deps: S3Deps) {
  const info = await requestedObject(ctx, deps);
  const wanted = new Set(
    String(ctx.req.headers["x-amz-object-attributes"] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  if (wanted.size === 0) {
    throw s3Error(
      "InvalidArgument",
      "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
    );
  }
  for (const name of wanted)
    if (!OBJECT_ATTRIBUTES.has(name)) throw s3Error("InvalidArgument", `Invalid attribute name specified: ${name}`);
  const maxParts = Number(ctx.req.headers["x-amz-max-parts"] ?? "1000");
  const marker = Number(ctx.req.headers["x-amz-part-number-marker"] ?? "0");
  if (!Number.isInteger(maxParts) || maxParts < 0 || !Number.isInteger(marker) || marker < 0) {
    throw s3Error("InvalidArgument", "x-amz-max-parts and x-amz-part-number-marker must be non-negative integers");
  }
  const checksum = checksumElements(info.checksums);
  const body: Record<string, unknown> = {};
  if (wanted.has("ETag")) body.ETag = info.etag || EMPTY_MD5;
  if (wanted.has("Checksum") && Object.keys(checksum).length > 0)
    body.Checksum = { ...checksum, ChecksumType: info.checksumType ?? "FULL_OBJECT" };
  if (wanted.has("ObjectParts") && info.parts) {
    const page = info.parts.slice(marker, marker + Math.min(maxParts, 1000));
    body.ObjectParts = {
      PartsCount: info.parts.length,
      PartNumberMarker: marker,
      NextPartNumberMarker: marker + page.length,
      MaxParts: maxParts,
      IsTruncated: marker + page.length < info.parts.length,
      ...(page.length
        ? {
            Part: page.map((p, i) => ({
              PartNumber: marker + i + 1,
              Size: p.size,
              // A part's checksum says something of the object only when the object's is made of them.
              ...(info.checksumType === "COMPOSITE" ? checksumElements(p.checksums) : {}),
            })),
          }
        : {}),
    };
  }
  if (wanted.has("StorageClass")) body.StorageClass = "STANDARD";
  if (wanted.has("ObjectSize")) body.ObjectSize = info.size;
  return ctx.reply.header("last-modified", httpDate(info.mtimeMs)).type(XML).send(s3Xml("GetObjectAttributesResponse", body));
}

export async function deleteObject(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  const versionId = requestedVersion(ctx);
  const dir = await requireBucket(deps.client, bucket);
  const deleted = await deleteKey(deps.client, dir, key, versionId, await bypassesGovernance(ctx, deps));
  if (deleted.versionId !== undefined) ctx.reply.header("x-amz-version-id", deleted.versionId);
  if (deleted.deleteMarker) ctx.reply.header("x-amz-delete-marker", "true");
  return ctx.reply.code(204).send();
}

/**
 * Deletes one key of `bucket` (a delete marker where it has versioning), or
 * one version of it; what is not there is deleted already (S3 semantics).
 * Returns the version id to answer, if any.
 */
async function deleteKey(
  client: FileSystemClient,
  bucket: FileInfo,
  key: string,
  versionId: string | undefined,
  bypassGovernance: boolean,
): Promise<{ versionId?: string; deleteMarker: boolean }> {
  checkKey(key);
  const path = pathOf(bucket.name, key);
  // A folder object ("dir/") has no versions: it is deleted as it is.
  if ((bucket.versioning || versionId !== undefined) && !key.endsWith("/"))
    return client.deleteObject(path, { versionId, bypassGovernance });
  if (bucket.versioning === "Enabled") refuseVersionedFolderBytes(bucket, key, (await client.find(path))?.size ?? 0);
  try {
    await client.delete(path, { fileOnly: true, pruneImplicitParents: true });
  } catch (err) {
    if (!(err instanceof KoineError && err.code === ErrorCode.NotFound)) throw err;
  }
  return { deleteMarker: false };
}

/**
 * Folder objects ("dir/") have no versions in koine: in a bucket with
 * versioning enabled, writing or deleting one that holds bytes (`bytes`,
 * unknown: undefined) is refused rather than done with no version kept.
 * (Suspended, S3 too replaces the null version.)
 */
export function refuseVersionedFolderBytes(bucket: FileInfo, key: string, bytes: number | undefined): void {
  if (bucket.versioning === "Enabled" && key.endsWith("/") && bytes !== 0) {
    throw s3Error(
      "NotImplemented",
      'A folder object (a key ending in "/") holding bytes has no versions in koine: in a bucket with versioning it must be empty',
    );
  }
}

/** "/bucket/key" or "bucket/key", URL-encoded, optionally with "?versionId=<id>". */
export function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
  let source = header;
  const q = source.indexOf("?");
  const versionId = q < 0 ? undefined : checkedVersion(new URLSearchParams(source.slice(q + 1)).get("versionId") ?? undefined);
  if (q >= 0) source = source.slice(0, q);
  let decoded: string;
  try {
    decoded = decodeURIComponent(source);
  } catch {
    throw s3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  }
  if (decoded.startsWith("/")) decoded = decoded.slice(1);
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) {
    throw s3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  }
  const bucket = decoded.slice(0, slash);
  const key = decoded.slice(slash + 1);
  checkBucketName(bucket);
  checkKey(key);
  return { bucket, key, ...(versionId === undefined ? {} : { versionId }) };
}

/**
 * The object an x-amz-copy-source names, checked against the copy-source
 * conditions; the request itself must have no body.
 */
export async function copySourceOf(ctx: S3Context, deps: S3Deps): Promise<{ source: { bucket: string; key: string }; src: FileInfo }> {
  const source = parseCopySource(String(ctx.req.headers["x-amz-copy-source"]));
  await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 0, () => s3Error("InvalidRequest", "A copy takes no request body"));
  // The signer must be able to read the source, as a GET of it would; who may not learns nothing of what is there.
  if (!(await deps.client.find(pathOf(source.bucket))))
    throw ctx.principal.anonymous ? s3Error("AccessDenied") : s3Error("NoSuchBucket", undefined, { BucketName: source.bucket });
  await deps.client.authorize(
    ctx.principal,
    source.versionId === undefined ? "s3:GetObject" : "s3:GetObjectVersion",
    pathOf(source.bucket, source.key),
  );
  const src = await resolveObject(deps.client, source.bucket, source.key, source.versionId).catch((err) => {
    throw toS3Error(err, source);
  });
  versionHeader(ctx, src, "x-amz-copy-source-version-id");
  const h = ctx.req.headers as Record<string, string | undefined>;
  checkConditions(
    src,
    {
      ifMatch: h["x-amz-copy-source-if-match"],
      ifNoneMatch: h["x-amz-copy-source-if-none-match"],
      ifModifiedSince: h["x-amz-copy-source-if-modified-since"],
      ifUnmodifiedSince: h["x-amz-copy-source-if-unmodified-since"],
    },
    true,
  );
  return { source, src };
}

export async function copyObject(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  const directive = String(ctx.req.headers["x-amz-metadata-directive"] ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") throw s3Error("InvalidArgument", "Unknown metadata directive.");
  const dir = await requireBucket(deps.client, bucket);
  const { source, src } = await copySourceOf(ctx, deps);
  refuseVersionedFolderBytes(dir, key, src.size);
  if (source.bucket === bucket && source.key === key && directive === "COPY") {
    throw s3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const fresh = attributesFrom(ctx, dir);
  const copied = {
    contentType: src.contentType,
    userMeta: src.userMeta,
    headers: src.headers ?? {},
    ...ownership(ctx),
    ...(fresh.grants ? { grants: fresh.grants } : {}),
    ...lockAttributes(ctx.req.headers, dir),
  };
  const tagDirective = String(ctx.req.headers["x-amz-tagging-directive"] ?? "COPY").toUpperCase();
  if (tagDirective !== "COPY" && tagDirective !== "REPLACE") throw s3Error("InvalidArgument", "Unknown tagging directive.");
  // x-amz-checksum-algorithm: the copy's checksum is taken anew, of that algorithm, as the bytes pass.
  const algorithmHeader = ctx.req.headers["x-amz-checksum-algorithm"];
  const algorithm = algorithmHeader === undefined ? undefined : checksumAlgorithm(String(algorithmHeader));
  const bytes = checksummed(await deps.client.readStream(src), algorithm);
  const attributes = {
    ...(directive === "REPLACE" ? fresh : copied),
    tags: tagDirective === "REPLACE" ? (fresh.tags ?? {}) : (src.tags ?? {}),
    // Otherwise the bytes are the same, so are their whole-object checksums; the copy is not in parts.
    checksums: algorithm ? bytes.checksums : src.checksumType === "COMPOSITE" ? {} : (src.checksums ?? {}),
  };
  const info = await deps.client.writeFile(pathOf(bucket, key), bytes.body, { attributes, sizeHint: src.size });
  versionHeader(ctx, info);
  return ctx.reply.type(XML).send(
    s3Xml("CopyObjectResult", {
      LastModified: isoDate(info.mtimeMs),
      ETag: quoteEtag(info.etag || EMPTY_MD5),
      ...checksumElements(info.checksums),
    }),
  );
}

export async function deleteObjects(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 2 * 1024 * 1024);
  const doc = parseS3Xml(body, "Delete");
  const objects = (doc.Object ?? []) as unknown[];
  if (!Array.isArray(objects) || objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw s3Error("MalformedXML");
  const keys = objects.map((o) => {
    const { Key: key, VersionId: versionId } = (o ?? {}) as Record<string, unknown>;
    if (typeof key !== "string" || (versionId !== undefined && typeof versionId !== "string")) throw s3Error("MalformedXML");
    return { key, versionId };
  });
  const quiet = String(doc.Quiet ?? "false").trim() === "true";
  const dir = await requireBucket(deps.client, bucket);
  const bypassGovernance = await bypassesGovernance(ctx, deps);
  const deleted: Record<string, unknown>[] = [];
  const errors: Record<string, string>[] = [];
  for (const { key, versionId } of keys) {
    const asked = versionId === undefined ? {} : { VersionId: versionId };
    try {
      if (versionId !== undefined && !isVersionId(versionId)) {
        throw s3Error("NoSuchVersion", "The specified version does not exist.");
      }
      await deps.client.authorize(ctx.principal, versionId ? "s3:DeleteObjectVersion" : "s3:DeleteObject", pathOf(bucket, key));
      const done = await deleteKey(deps.client, dir, key, versionId, bypassGovernance);
      deleted.push({
        Key: key,
        ...asked,
        ...(done.deleteMarker ? { DeleteMarker: true, DeleteMarkerVersionId: done.versionId } : {}),
      });
    } catch (err) {
      const e = toS3Error(err, { bucket, key });
      errors.push({ Key: key, ...asked, Code: e.code, Message: e.message });
    }
  }
  return ctx.reply.type(XML).send(
    s3Xml("DeleteResult", {
      ...(quiet || deleted.length === 0 ? {} : { Deleted: deleted }),
      ...(errors.length ? { Error: errors } : {}),
    }),
  );
}
