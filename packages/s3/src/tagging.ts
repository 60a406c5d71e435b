import { readSmallBody } from "./body.ts";
import { requireBucket } from "./buckets.ts";
import type { S3Context, S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";
import { requestedObject, resolveObject } from "./objects.ts";
import { requestedVersion, versionHeader } from "./versions.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

const XML = "application/xml";
const MAX_OBJECT_TAGS = 10;
const MAX_BUCKET_TAGS = 50;

/** Checks a tag set against S3's limits. */
function checkTags(tags: [string, string][], max: number): Record<string, string> {
  if (tags.length > max) throw s3Error("InvalidTag", `Cannot have more than ${max} tags`);
  const out: Record<string, string> = {};
  for (const [key, value] of tags) {
    if (key.length === 0 || key.length > 128 || value.length > 256) {
      throw s3Error("InvalidTag", "A tag key must have 1 to 128 characters and a value at most 256");
    }
    if (key in out) throw s3Error("InvalidTag", "Cannot provide multiple Tags with the same key");
    out[key] = value;
  }
  return out;
}

/** Tags from the x-amz-tagging header of an upload ("k=v&k2=v2", URL-encoded). */
export function tagsFromHeader(header: string | undefined): Record<string, string> | undefined {
  if (header === undefined) return undefined;
  return checkTags([...new URLSearchParams(header)], MAX_OBJECT_TAGS);
}

async function tagsFromBody(ctx: S3Context, deps: S3Deps, max: number): Promise<Record<string, string>> {
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const tagSet = parseS3Xml(body, "Tagging").TagSet as { Tag?: unknown[] } | "" | undefined;
  if (tagSet === undefined) throw s3Error("MalformedXML");
  const list = (tagSet === "" ? [] : (tagSet.Tag ?? [])).map((t) => {
    const tag = t as { Key?: unknown; Value?: unknown };
    if (typeof tag.Key !== "string") throw s3Error("MalformedXML");
    return [tag.Key, typeof tag.Value === "string" ? tag.Value : ""] as [string, string];
  });
  return checkTags(list, max);
}

function tagging(tags: Record<string, string>): string {
  return s3Xml("Tagging", { TagSet: { Tag: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } });
}

/** Sets the tags of the object of this request (a file, or a folder object "dir/"), or of the version it names. */
async function setObjectTags(ctx: S3Context, deps: S3Deps, tags: Record<string, string>): Promise<void> {
  const versionId = requestedVersion(ctx);
  const info = await resolveObject(deps.client, ctx.bucket as string, ctx.key as string, versionId);
  versionHeader(ctx, info);
  await deps.client.setAttributes(pathOf(ctx.bucket as string, ctx.key), { tags }, versionId === undefined ? undefined : { versionId });
}

export async function putObjectTagging(ctx: S3Context, deps: S3Deps) {
  await setObjectTags(ctx, deps, await tagsFromBody(ctx, deps, MAX_OBJECT_TAGS));
  return ctx.reply.send();
}

export async function getObjectTagging(ctx: S3Context, deps: S3Deps) {
  const info = await requestedObject(ctx, deps);
  return ctx.reply.type(XML).send(tagging(info.tags ?? {}));
}

export async function deleteObjectTagging(ctx: S3Context, deps: S3Deps) {
  await setObjectTags(ctx, deps, {});
  return ctx.reply.code(204).send();
}

export async function putBucketTagging(ctx: S3Context, deps: S3Deps) {
  const tags = await tagsFromBody(ctx, deps, MAX_BUCKET_TAGS);
  await requireBucket(deps.client, ctx.bucket as string);
  await deps.client.setAttributes(pathOf(ctx.bucket as string), { tags });
  return ctx.reply.code(204).send();
}

export async function getBucketTagging(ctx: S3Context, deps: S3Deps) {
  const info = await requireBucket(deps.client, ctx.bucket as string);
  if (!info.tags || Object.keys(info.tags).length === 0) {
    throw s3Error("NoSuchTagSet", "The TagSet does not exist", { BucketName: ctx.bucket as string });
  }
  return ctx.reply.type(XML).send(tagging(info.tags));
}

export async function deleteBucketTagging(ctx: S3Context, deps: S3Deps) {
  await requireBucket(deps.client, ctx.bucket as string);
  await deps.client.setAttributes(pathOf(ctx.bucket as string), { tags: {} });
  return ctx.reply.code(204).send();
}
