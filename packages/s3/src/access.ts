import type { FileInfo } from "@koine/protocol";
import { readSmallBody } from "./body.ts";
import type { S3Context, S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";
import { resolveObjectOrBucket } from "./objects.ts";
import type { Authorization } from "./sigv4.ts";
import { s3Xml } from "./xml.ts";

export const CANNED_ACLS = ["private", "public-read"] as const;
const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";

/** Whether `accessKey` owns a bucket ("" is a bucket from before owners were kept: anyone's). */
export function owns(bucket: FileInfo, accessKey: string): boolean {
  return bucket.owner === "" || bucket.owner === accessKey;
}

/** Whether the signer may read an object of `bucket`: it owns the bucket, or an ACL opens the bucket or the object to everyone. */
export function mayRead(auth: Authorization, bucket: FileInfo, object: FileInfo | undefined): boolean {
  if (!auth.anonymous && owns(bucket, auth.accessKey)) return true;
  return bucket.acl === "public-read" || object?.acl === "public-read";
}

/** The canned ACL of an x-amz-acl header; undefined without one. */
export function cannedAcl(ctx: S3Context): string | undefined {
  const acl = ctx.req.headers["x-amz-acl"];
  if (acl === undefined) return undefined;
  if (!(CANNED_ACLS as readonly string[]).includes(String(acl))) {
    throw s3Error("NotImplemented", `Canned ACL "${acl}" is not implemented; use private or public-read`);
  }
  return String(acl);
}

/** Query parameters a plain read (a GET of an object or a listing) may carry; x-id is the AWS SDK's. */
const PLAIN_READ_PARAMS = new Set([
  "x-id",
  "list-type",
  "prefix",
  "delimiter",
  "marker",
  "max-keys",
  "continuation-token",
  "start-after",
  "encoding-type",
  "fetch-owner",
  "versionId",
]);

/** Whether the request only reads an object or lists a bucket. */
function isPlainRead(ctx: S3Context): boolean {
  const method = ctx.req.method;
  if (method !== "GET" && method !== "HEAD") return false;
  return [...ctx.query.keys()].every((k) => PLAIN_READ_PARAMS.has(k) || k.startsWith("response-") || k.toLowerCase().startsWith("x-amz-"));
}

/**
 * Lets a request through when its signer owns the bucket, or when it is a
 * plain read that a public-read ACL (of the bucket, or of the object) opens
 * to everyone. A missing bucket passes: the operation answers NoSuchBucket.
 */
export async function authorize(ctx: S3Context, deps: S3Deps): Promise<void> {
  if (ctx.bucket === undefined) {
    if (ctx.auth.anonymous) throw s3Error("AccessDenied", "Anonymous users cannot list buckets");
    return;
  }
  const bucket = await deps.client.find(pathOf(ctx.bucket));
  if (!bucket) return;
  if (!ctx.auth.anonymous && owns(bucket, ctx.auth.accessKey)) return;
  if (isPlainRead(ctx)) {
    const object = ctx.key === undefined || bucket.acl === "public-read" ? undefined : await deps.client.find(pathOf(ctx.bucket, ctx.key));
    if (mayRead(ctx.auth, bucket, object)) return;
  }
  throw s3Error("AccessDenied");
}

const XSI = "http://www.w3.org/2001/XMLSchema-instance";

function policy(owner: string, acl: string | undefined): string {
  const grants: { Grantee: Record<string, string>; Permission: string }[] = [
    { Grantee: { "@xmlns:xsi": XSI, "@xsi:type": "CanonicalUser", ID: owner, DisplayName: owner }, Permission: "FULL_CONTROL" },
  ];
  if (acl === "public-read") grants.push({ Grantee: { "@xmlns:xsi": XSI, "@xsi:type": "Group", URI: ALL_USERS }, Permission: "READ" });
  return s3Xml("AccessControlPolicy", { Owner: { ID: owner, DisplayName: owner }, AccessControlList: { Grant: grants } });
}

/** GetBucketAcl and GetObjectAcl: the owner's full control, and READ for everyone when public. */
export async function getAcl(ctx: S3Context, deps: S3Deps) {
  const { target, bucket } = await resolveObjectOrBucket(deps.client, ctx.bucket as string, ctx.key);
  return ctx.reply.type("application/xml").send(policy(target.owner || bucket.owner || ctx.auth.accessKey, target.acl));
}

/** PutBucketAcl and PutObjectAcl with a canned ACL (x-amz-acl); grants in a body are not implemented. */
export async function putAcl(ctx: S3Context, deps: S3Deps) {
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const acl = cannedAcl(ctx);
  if (acl === undefined || body.length > 0)
    throw s3Error("NotImplemented", "Only canned ACLs in x-amz-acl (private, public-read) are implemented");
  await resolveObjectOrBucket(deps.client, ctx.bucket as string, ctx.key);
  await deps.client.setAttributes(pathOf(ctx.bucket as string, ctx.key), { acl });
  return ctx.reply.send();
}
