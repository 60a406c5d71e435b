import type { Grant, Permission } from "@koine/protocol";

/** S3's canned ACLs koine honours. */
export const CANNED_ACLS = [
  "private",
  "public-read",
  "public-read-write",
  "authenticated-read",
  "bucket-owner-read",
  "bucket-owner-full-control",
] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

export const ALL_USERS_URI = "http://acs.amazonaws.com/groups/global/AllUsers";
export const AUTHENTICATED_USERS_URI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/**
 * The grants a canned ACL stands for, beyond the owner's full control (a
 * bucket's owner already controls what is in the bucket, so
 * bucket-owner-full-control adds nothing).
 */
export function cannedGrants(acl: CannedAcl, bucketOwner: string): Grant[] {
  switch (acl) {
    case "private":
    case "bucket-owner-full-control":
      return [];
    case "public-read":
      return [{ grantee: "AllUsers", permission: "READ" }];
    case "public-read-write":
      return [
        { grantee: "AllUsers", permission: "READ" },
        { grantee: "AllUsers", permission: "WRITE" },
      ];
    case "authenticated-read":
      return [{ grantee: "AuthenticatedUsers", permission: "READ" }];
    case "bucket-owner-read":
      return bucketOwner ? [{ grantee: `user:${bucketOwner}`, permission: "READ" }] : [];
  }
}

/** The grantee of an S3 grant: a group URI, or a canonical user id (an access key, or "group:<name>" for a koine group). */
export function granteeOf(kind: "id" | "uri", value: string): string | undefined {
  if (kind === "uri") return value === ALL_USERS_URI ? "AllUsers" : value === AUTHENTICATED_USERS_URI ? "AuthenticatedUsers" : undefined;
  if (/^group:[A-Za-z0-9._-]{1,64}$/.test(value)) return value;
  return /^[A-Za-z0-9._-]{3,128}$/.test(value) ? `user:${value}` : undefined;
}

/**
 * The grants of x-amz-grant-* headers (`id="alice", uri="http://acs…/AllUsers"`),
 * by permission; undefined for a grantee koine cannot name (e-mail addresses).
 */
export function grantsOf(headers: Partial<Record<Permission, string>>): Grant[] | undefined {
  const grants: Grant[] = [];
  for (const [permission, text] of Object.entries(headers) as [Permission, string][]) {
    const parts = text.split(",").map((p) => p.trim());
    for (const part of parts) {
      const m = /^(id|uri|emailAddress)\s*=\s*"?([^"]*)"?$/.exec(part);
      if (!m || m[1] === "emailAddress") return undefined;
      const grantee = granteeOf(m[1] as "id" | "uri", m[2] as string);
      if (grantee === undefined) return undefined;
      grants.push({ grantee, permission });
    }
  }
  return grants;
}

/** Whether a grant opens something to everyone or every signed-in user (what the public access block watches). */
export function isPublicGrant(grant: Grant): boolean {
  return grant.grantee === "AllUsers" || grant.grantee === "AuthenticatedUsers";
}
