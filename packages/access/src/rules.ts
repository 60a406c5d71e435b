import type { FileInfo, Grant, Permission } from "@koine/protocol";
import { isPublicGrant } from "./acl.ts";
import { type PolicyContext, policyVerdict } from "./policy.ts";
import type { Principal } from "./principal.ts";

/**
 * What a request does, named as S3 names its actions (bucket policies list
 * them), plus koine's own for what S3 has no word for. Every dialect's
 * operation is one of these (docs/security.md has the table).
 */
export const ACTIONS = [
  "s3:GetObject",
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:ListBucket",
  "s3:ListBucketMultipartUploads",
  "s3:ListMultipartUploadParts",
  "s3:AbortMultipartUpload",
  "s3:GetObjectAcl",
  "s3:PutObjectAcl",
  "s3:GetBucketAcl",
  "s3:PutBucketAcl",
  "s3:GetObjectTagging",
  "s3:PutObjectTagging",
  "s3:DeleteObjectTagging",
  "s3:GetBucketTagging",
  "s3:PutBucketTagging",
  "s3:GetBucketLocation",
  "s3:GetBucketVersioning",
  "s3:PutBucketVersioning",
  "s3:GetObjectVersion",
  "s3:DeleteObjectVersion",
  "s3:ListBucketVersions",
  "s3:PutBucketObjectLockConfiguration",
  "s3:GetBucketObjectLockConfiguration",
  "s3:PutObjectRetention",
  "s3:GetObjectRetention",
  "s3:PutObjectLegalHold",
  "s3:GetObjectLegalHold",
  "s3:BypassGovernanceRetention",
  "s3:CreateBucket",
  "s3:DeleteBucket",
  "s3:GetBucketPolicy",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
  "s3:GetBucketCORS",
  "s3:PutBucketCORS",
  "s3:ListAllMyBuckets",
  /** Time to live, pinning, content type of a path (Alluxio set-attribute). */
  "koine:SetAttributes",
  /** Mode bits and group (chmod, chgrp): the owner's. */
  "koine:SetPermissions",
  /** A new owner (chown): an admin's. */
  "koine:SetOwner",
  /** Dropping a path's cached pages. */
  "koine:FreeCache",
  /** Mounting and unmounting under-stores, cluster operations, users: an admin's. */
  "koine:Admin",
] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * Which inode an action is decided on, and the permission it takes there:
 * the path itself (target), the directory that will hold or held it
 * (container), or only its owner, any signed-in user, or an admin.
 */
type Need = { on: "target" | "container"; permission: Permission } | "owner" | "authenticated" | "admin";

const NEEDS: Record<Action, Need> = {
  "s3:GetObject": { on: "target", permission: "READ" },
  "s3:PutObject": { on: "container", permission: "WRITE" },
  "s3:DeleteObject": { on: "container", permission: "WRITE" },
  "s3:ListBucket": { on: "target", permission: "READ" },
  "s3:ListBucketMultipartUploads": { on: "target", permission: "READ" },
  "s3:ListMultipartUploadParts": { on: "container", permission: "WRITE" },
  "s3:AbortMultipartUpload": { on: "container", permission: "WRITE" },
  "s3:GetObjectAcl": { on: "target", permission: "READ_ACP" },
  "s3:PutObjectAcl": { on: "target", permission: "WRITE_ACP" },
  "s3:GetBucketAcl": { on: "target", permission: "READ_ACP" },
  "s3:PutBucketAcl": { on: "target", permission: "WRITE_ACP" },
  "s3:GetObjectTagging": { on: "target", permission: "READ" },
  "s3:PutObjectTagging": { on: "target", permission: "WRITE_ACP" },
  "s3:DeleteObjectTagging": { on: "target", permission: "WRITE_ACP" },
  "s3:GetBucketTagging": "owner",
  "s3:PutBucketTagging": "owner",
  "s3:GetBucketLocation": "owner",
  "s3:GetBucketVersioning": "owner",
  "s3:PutBucketVersioning": "owner",
  "s3:GetObjectVersion": { on: "target", permission: "READ" },
  "s3:DeleteObjectVersion": { on: "container", permission: "WRITE" },
  "s3:ListBucketVersions": { on: "target", permission: "READ" },
  "s3:PutBucketObjectLockConfiguration": "owner",
  "s3:GetBucketObjectLockConfiguration": "owner",
  "s3:PutObjectRetention": { on: "target", permission: "WRITE_ACP" },
  "s3:GetObjectRetention": { on: "target", permission: "READ" },
  "s3:PutObjectLegalHold": { on: "target", permission: "WRITE_ACP" },
  "s3:GetObjectLegalHold": { on: "target", permission: "READ" },
  "s3:BypassGovernanceRetention": "owner",
  "s3:CreateBucket": "authenticated",
  "s3:DeleteBucket": "owner",
  "s3:GetBucketPolicy": "owner",
  "s3:PutBucketPolicy": "owner",
  "s3:DeleteBucketPolicy": "owner",
  "s3:GetBucketCORS": "owner",
  "s3:PutBucketCORS": "owner",
  "s3:ListAllMyBuckets": "authenticated",
  "koine:SetAttributes": { on: "target", permission: "WRITE" },
  "koine:SetPermissions": { on: "target", permission: "WRITE_ACP" },
  "koine:SetOwner": "admin",
  "koine:FreeCache": { on: "target", permission: "WRITE" },
  "koine:Admin": "admin",
};

/** The inodes a decision on a path looks at, gathered by the caller (the shared client). */
export interface Subject {
  /** The path acted on ("/bucket/key"). */
  path: string;
  /** Its entry; undefined when it does not exist (yet). */
  target: FileInfo | undefined;
  /** The nearest existing directory above it that is not implicit: where creating and deleting it is decided. */
  container: FileInfo;
  /** The top-level directory (bucket) the path is in, or is; undefined for "/". */
  bucket: FileInfo | undefined;
  /** The directories above the path below the root, whose recursive grants hold on it (Ozone's bucket ACLs). */
  ancestors?: readonly FileInfo[];
}

/** Whether `principal` is `inode`'s owner (the root's "root" is a name shown, not a user). */
function isOwner(principal: Principal, inode: FileInfo | undefined): boolean {
  return inode !== undefined && !principal.anonymous && inode.owner !== "" && inode.owner === principal.user && inode.path !== "/";
}

/** Whether `principal` owns `inode` outright, or owns the bucket it is in (a bucket's owner controls what is in it). */
function ownerOf(principal: Principal, inode: FileInfo, bucket: FileInfo | undefined): boolean {
  return isOwner(principal, inode) || isOwner(principal, bucket);
}

const MODE_BITS: Partial<Record<Permission, number>> = { READ: 4, WRITE: 2 };

/** The rwx bits of `inode`'s mode that apply to `principal` (owner, group or other class); none for anonymous. */
function modeBitsFor(principal: Principal, inode: FileInfo): number {
  if (principal.anonymous) return 0;
  if (isOwner(principal, inode)) return (inode.mode >> 6) & 7;
  if (inode.group !== "" && principal.groups.includes(inode.group)) return (inode.mode >> 3) & 7;
  return inode.mode & 7;
}

function grantApplies(grant: Grant, principal: Principal): boolean {
  const g = grant.grantee;
  if (g === "AllUsers") return true;
  if (principal.anonymous) return false;
  if (g === "AuthenticatedUsers") return true;
  if (g.startsWith("user:")) return g.slice(5) === principal.user;
  if (g.startsWith("group:")) return principal.groups.includes(g.slice(6));
  return false;
}

/**
 * Whether owner, mode bits or ACL grants of `inode` give `principal` the
 * permission; `inherited` are the recursive grants of the directories above.
 */
function permits(
  principal: Principal,
  inode: FileInfo,
  bucket: FileInfo | undefined,
  permission: Permission,
  ignorePublicGrants: boolean,
  inherited: readonly Grant[],
): boolean {
  if (ownerOf(principal, inode, bucket)) return true;
  const bit = MODE_BITS[permission];
  if (bit !== undefined && (modeBitsFor(principal, inode) & bit) !== 0) return true;
  return [...(inode.grants ?? []), ...inherited].some(
    (g) =>
      (g.permission === permission || g.permission === "FULL_CONTROL") &&
      !(ignorePublicGrants && isPublicGrant(g)) &&
      grantApplies(g, principal),
  );
}

/**
 * The ARN a bucket policy names a path by: arn:aws:s3:::bucket/key (or
 * arn:aws:s3:::bucket for the bucket), the key as it is ("dir/", "a//b").
 */
export function resourceArn(path: string): string {
  return `arn:aws:s3:::${path.slice(1)}`;
}

/**
 * Decides whether `principal` may do `action` on `subject`, the same for
 * every dialect: an admin may do anything; a bucket policy's Deny refuses
 * and its Allow grants; otherwise ownership (of the path or of its bucket),
 * the mode bits of the owner, group or other class (for signed-in users),
 * and ACL grants (the path's own, and the recursive ones of the
 * directories above it) decide, on the path itself or on its container. A path
 * that does not exist is decided as its listing: who may not list its
 * container may not learn that it is missing.
 */
export function isAllowed(principal: Principal, action: Action, subject: Subject, context: PolicyContext = {}): boolean {
  if (principal.admin) return true;
  const { target, container, bucket } = subject;
  const settings = bucket?.publicAccessBlock;
  const verdict = bucket?.policy
    ? policyVerdict(bucket.policy, principal, action, resourceArn(subject.path), context, settings?.restrictPublicBuckets === true)
    : undefined;
  if (verdict === "deny") return false;
  if (verdict === "allow") return true;
  const need = NEEDS[action];
  if (need === "admin") return false;
  if (need === "authenticated") return !principal.anonymous;
  const ignorePublic = settings?.ignorePublicAcls === true;
  if (need === "owner") return target !== undefined && ownerOf(principal, target, bucket);
  const inherited = (subject.ancestors ?? []).flatMap((dir) => (dir.grants ?? []).filter((g) => g.recursive === true));
  if (need.on === "container") return permits(principal, container, bucket, need.permission, ignorePublic, inherited);
  if (target === undefined) return permits(principal, container, bucket, "READ", ignorePublic, inherited);
  return permits(principal, target, bucket, need.permission, ignorePublic, inherited);
}
