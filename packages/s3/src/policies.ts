import { isPublicPolicy, PolicyError, parsePolicy } from "@koine/access";
import type { PublicAccessBlock } from "@koine/protocol";
import { readSmallBody } from "./body.ts";
import { requireBucket } from "./buckets.ts";
import type { S3Context, S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

/** S3's limit on a bucket policy. */
const MAX_POLICY_BYTES = 20 * 1024;

/** PutBucketPolicy: a policy koine can honour in full, or MalformedPolicy; a public one where the bucket blocks them, AccessDenied. */
export async function putBucketPolicy(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const text = (await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, MAX_POLICY_BYTES)).toString("utf8");
  try {
    parsePolicy(text, bucket);
  } catch (err) {
    if (err instanceof PolicyError) throw s3Error("MalformedPolicy", err.message);
    throw err;
  }
  const dir = await requireBucket(deps.client, bucket);
  if (dir.publicAccessBlock?.blockPublicPolicy && isPublicPolicy(text, bucket))
    throw s3Error("AccessDenied", "Public policies are blocked on this bucket");
  await deps.client.setAttributes(pathOf(bucket), { policy: text });
  return ctx.reply.code(204).send();
}

export async function getBucketPolicy(ctx: S3Context, deps: S3Deps) {
  const dir = await requireBucket(deps.client, ctx.bucket as string);
  if (!dir.policy) throw s3Error("NoSuchBucketPolicy", undefined, { BucketName: ctx.bucket as string });
  return ctx.reply.type("application/json").send(dir.policy);
}

export async function deleteBucketPolicy(ctx: S3Context, deps: S3Deps) {
  await requireBucket(deps.client, ctx.bucket as string);
  await deps.client.setAttributes(pathOf(ctx.bucket as string), { policy: "" });
  return ctx.reply.code(204).send();
}

const BLOCK_FIELDS = [
  ["BlockPublicAcls", "blockPublicAcls"],
  ["IgnorePublicAcls", "ignorePublicAcls"],
  ["BlockPublicPolicy", "blockPublicPolicy"],
  ["RestrictPublicBuckets", "restrictPublicBuckets"],
] as const;

export async function putPublicAccessBlock(ctx: S3Context, deps: S3Deps) {
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const doc = parseS3Xml(body, "PublicAccessBlockConfiguration");
  const block = {} as PublicAccessBlock;
  for (const [xml, field] of BLOCK_FIELDS) {
    const value = doc[xml] === undefined ? "false" : String(doc[xml]).trim();
    if (value !== "true" && value !== "false") throw s3Error("MalformedXML");
    block[field] = value === "true";
  }
  await requireBucket(deps.client, ctx.bucket as string);
  await deps.client.setAttributes(pathOf(ctx.bucket as string), { publicAccessBlock: block });
  return ctx.reply.send();
}

export async function getPublicAccessBlock(ctx: S3Context, deps: S3Deps) {
  const dir = await requireBucket(deps.client, ctx.bucket as string);
  const block = dir.publicAccessBlock;
  if (!block) throw s3Error("NoSuchPublicAccessBlockConfiguration", undefined, { BucketName: ctx.bucket as string });
  const fields = Object.fromEntries(BLOCK_FIELDS.map(([xml, field]) => [xml, String(block[field])]));
  return ctx.reply.type("application/xml").send(s3Xml("PublicAccessBlockConfiguration", fields));
}

export async function deletePublicAccessBlock(ctx: S3Context, deps: S3Deps) {
  await requireBucket(deps.client, ctx.bucket as string);
  await deps.client.setAttributes(pathOf(ctx.bucket as string), { publicAccessBlock: null });
  return ctx.reply.code(204).send();
}
