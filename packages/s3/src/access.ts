import type { IncomingHttpHeaders } from "node:http";
import {
  type Action,
  ALL_USERS_URI,
  AUTHENTICATED_USERS_URI,
  CANNED_ACLS,
  type CannedAcl,
  cannedGrants,
  grantsOf,
  isPublicGrant,
} from "@koine/access";
import type { FileInfo, Grant, Permission } from "@koine/protocol";
import { readSmallBody } from "./body.ts";
import type { S3Context, S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";
import { resolveObjectOrBucket } from "./objects.ts";
import { requestedVersion, versionHeader } from "./versions.ts";
import { s3Xml } from "./xml.ts";

/** The action each S3 operation (as metrics name it) is decided as; operations that only answer an error have none. */
const OPERATION_ACTIONS: Record<string, Action | ((ctx: S3Context) => Action)> = {
  ListBuckets: "s3:ListAllMyBuckets",
  CreateBucket: "s3:CreateBucket",
  HeadBucket: "s3:ListBucket",
  DeleteBucket: "s3:DeleteBucket",
  ListObjects: "s3:ListBucket",
  ListObjectVersions: "s3:ListBucketVersions",
  GetBucketLocation: "s3:GetBucketLocation",
  GetBucketVersioning: "s3:GetBucketVersioning",
  PutBucketVersioning: "s3:PutBucketVersioning",
  PutObjectLockConfiguration: "s3:PutBucketObjectLockConfiguration",
  GetObjectLockConfiguration: "s3:GetBucketObjectLockConfiguration",
  PutObjectRetention: "s3:PutObjectRetention",
  GetObjectRetention: "s3:GetObjectRetention",
  PutObjectLegalHold: "s3:PutObjectLegalHold",
  GetObjectLegalHold: "s3:GetObjectLegalHold",
  ListMultipartUploads: "s3:ListBucketMultipartUploads",
  // Each key is decided as it is deleted; the request needs only a signer.
  DeleteObjects: "s3:ListAllMyBuckets",
  GetAcl: (ctx) => (ctx.key === undefined ? "s3:GetBucketAcl" : "s3:GetObjectAcl"),
  PutAcl: (ctx) => (ctx.key === undefined ? "s3:PutBucketAcl" : "s3:PutObjectAcl"),
  GetBucketCors: "s3:GetBucketCORS",
  PutBucketCors: "s3:PutBucketCORS",
  DeleteBucketCors: "s3:PutBucketCORS",
  GetBucketTagging: "s3:GetBucketTagging",
  PutBucketTagging: "s3:PutBucketTagging",
  DeleteBucketTagging: "s3:PutBucketTagging",
  GetBucketPolicy: "s3:GetBucketPolicy",
  PutBucketPolicy: "s3:PutBucketPolicy",
  DeleteBucketPolicy: "s3:DeleteBucketPolicy",
  GetPublicAccessBlock: "s3:GetBucketPolicy",
  PutPublicAccessBlock: "s3:PutBucketPolicy",
  DeletePublicAccessBlock: "s3:PutBucketPolicy",
  GetObjectTagging: "s3:GetObjectTagging",
  PutObjectTagging: "s3:PutObjectTagging",
  DeleteObjectTagging: "s3:DeleteObjectTagging",
  GetObject: (ctx) => (ctx.query.has("versionId") ? "s3:GetObjectVersion" : "s3:GetObject"),
  HeadObject: (ctx) => (ctx.query.has("versionId") ? "s3:GetObjectVersion" : "s3:GetObject"),
  GetObjectAttributes: "s3:GetObject",
  PutObject: "s3:PutObject",
  DeleteObject: (ctx) => (ctx.query.has("versionId") ? "s3:DeleteObjectVersion" : "s3:DeleteObject"),
  CreateMultipartUpload: "s3:PutObject",
  UploadPart: "s3:PutObject",
  CompleteMultipartUpload: "s3:PutObject",
  AbortMultipartUpload: "s3:AbortMultipartUpload",
  ListParts: "s3:ListMultipartUploadParts",
};
/**
 * Operations that decide for themselves: those that answer an error whoever
 * asks, a browser's preflight (unsigned, as browsers send it: it tells only
 * what the bucket's CORS rules allow), and a browser's POST upload (signed
 * in its form: the operation checks the form's policy and signature, then
 * decides s3:PutObject for its signer).
 */
const DECIDED_BY_OPERATION = new Set(["NotImplemented", "Preflight", "PostObject"]);

/**
 * Lets a request through when @koine/access allows its action on its
 * bucket or object for the signer (or for anyone, unsigned). A bucket that
 * is not there is decided as a listing of the root: its owner-to-be is
 * told NoSuchBucket by the operation, a stranger AccessDenied.
 */
export async function authorize(ctx: S3Context, deps: S3Deps, operation: string): Promise<void> {
  if (DECIDED_BY_OPERATION.has(operation)) return;
  const entry = OPERATION_ACTIONS[operation];
  // An operation with no action is refused: nothing passes unchecked.
  if (entry === undefined) throw s3Error("AccessDenied", `No access rule for ${operation}`);
  const action = typeof entry === "function" ? entry(ctx) : entry;
  if (ctx.bucket === undefined || action === "s3:ListAllMyBuckets") {
    if (ctx.principal.anonymous) throw s3Error("AccessDenied", "Anonymous users cannot list buckets");
    return;
  }
  const path = action === "s3:CreateBucket" || ctx.key === undefined ? pathOf(ctx.bucket) : pathOf(ctx.bucket, ctx.key);
  const bucket = action === "s3:CreateBucket" ? undefined : await deps.client.find(pathOf(ctx.bucket));
  // A missing bucket: the operation says NoSuchBucket to whoever signed (as S3 does).
  if (action !== "s3:CreateBucket" && bucket === undefined) {
    if (ctx.principal.anonymous) throw s3Error("AccessDenied");
    return;
  }
  await deps.client.authorize(ctx.principal, action, path, { prefix: ctx.query.get("prefix") ?? "" });
}

/** The grants of a request's x-amz-acl or x-amz-grant-* headers; undefined without either. */
export function requestedGrants(headers: IncomingHttpHeaders, bucketOwner: string): Grant[] | undefined {
  const canned = headers["x-amz-acl"];
  const explicit: Partial<Record<Permission, string>> = {};
  for (const [permission, header] of [
    ["READ", "x-amz-grant-read"],
    ["WRITE", "x-amz-grant-write"],
    ["READ_ACP", "x-amz-grant-read-acp"],
    ["WRITE_ACP", "x-amz-grant-write-acp"],
    ["FULL_CONTROL", "x-amz-grant-full-control"],
  ] as const) {
    const value = headers[header];
    if (typeof value === "string") explicit[permission] = value;
  }
  const hasExplicit = Object.keys(explicit).length > 0;
  if (canned !== undefined && hasExplicit) throw s3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed");
  if (canned !== undefined) {
    if (!(CANNED_ACLS as readonly string[]).includes(String(canned))) {
      throw s3Error("NotImplemented", `Canned ACL "${canned}" is not implemented; use one of ${CANNED_ACLS.join(", ")}`);
    }
    return cannedGrants(String(canned) as CannedAcl, bucketOwner);
  }
  if (!hasExplicit) return undefined;
  const grants = grantsOf(explicit);
  if (grants === undefined)
    throw s3Error("InvalidArgument", 'Grantees are id="<access key>" or uri="<AllUsers or AuthenticatedUsers group>"');
  return grants;
}

/** Refuses public grants where the bucket's public access block says BlockPublicAcls. */
export function checkPublicGrants(bucket: FileInfo, grants: readonly Grant[]): void {
  if (bucket.publicAccessBlock?.blockPublicAcls && grants.some(isPublicGrant))
    throw s3Error("AccessDenied", "Public ACLs are blocked on this bucket");
}

const XSI = "http://www.w3.org/2001/XMLSchema-instance";

/** An S3 grantee element for a koine grantee. */
function granteeXml(grantee: string): Record<string, string> {
  if (grantee === "AllUsers") return { "@xmlns:xsi": XSI, "@xsi:type": "Group", URI: ALL_USERS_URI };
  if (grantee === "AuthenticatedUsers") return { "@xmlns:xsi": XSI, "@xsi:type": "Group", URI: AUTHENTICATED_USERS_URI };
  const id = grantee.startsWith("user:") ? grantee.slice(5) : grantee;
  return { "@xmlns:xsi": XSI, "@xsi:type": "CanonicalUser", ID: id, DisplayName: id };
}

/**
 * The ACL view of a path's rules: the owner's full control, its grants, and
 * what the mode bits give every signed-in user (other: r → READ, w → WRITE).
 */
function policyXml(owner: string, target: FileInfo): string {
  const grants: Grant[] = [{ grantee: `user:${owner}`, permission: "FULL_CONTROL" }, ...(target.grants ?? [])];
  if (target.mode & 0o004) grants.push({ grantee: "AuthenticatedUsers", permission: "READ" });
  if (target.mode & 0o002 && target.type === "directory") grants.push({ grantee: "AuthenticatedUsers", permission: "WRITE" });
  return s3Xml("AccessControlPolicy", {
    Owner: { ID: owner, DisplayName: owner },
    AccessControlList: { Grant: grants.map((g) => ({ Grantee: granteeXml(g.grantee), Permission: g.permission })) },
  });
}

/** GetBucketAcl and GetObjectAcl. */
export async function getAcl(ctx: S3Context, deps: S3Deps) {
  const { target, bucket } = await resolveObjectOrBucket(deps.client, ctx.bucket as string, ctx.key, requestedVersion(ctx));
  versionHeader(ctx, target);
  return ctx.reply.type("application/xml").send(policyXml(target.owner || bucket.owner || ctx.principal.user, target));
}

/** PutBucketAcl and PutObjectAcl with a canned ACL (x-amz-acl) or grant headers; an ACL in a body is not implemented. */
export async function putAcl(ctx: S3Context, deps: S3Deps) {
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const versionId = requestedVersion(ctx);
  const { target, bucket } = await resolveObjectOrBucket(deps.client, ctx.bucket as string, ctx.key, versionId);
  const grants = requestedGrants(ctx.req.headers, bucket.owner);
  if (grants === undefined || body.length > 0)
    throw s3Error("NotImplemented", "Only ACLs in headers (x-amz-acl, x-amz-grant-*) are implemented, not in a body");
  checkPublicGrants(bucket, grants);
  versionHeader(ctx, target);
  await deps.client.setAttributes(pathOf(ctx.bucket as string, ctx.key), { grants }, versionId === undefined ? undefined : { versionId });
  return ctx.reply.send();
}
