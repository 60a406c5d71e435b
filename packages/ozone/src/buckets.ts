import type { FileInfo, Grant } from "@koine/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { aclChanges, changedAcls, type OzoneAcl } from "./acls.ts";
import {
  bucketAt,
  caller,
  handler,
  headerValues,
  maxKeysOf,
  may,
  type OzoneContext,
  params,
  query,
  sendJson,
  volumeAt,
} from "./context.ts";
import { formatOzoneDate } from "./dates.ts";
import { OzoneError } from "./errors.ts";
import { keyInfo } from "./keys.ts";
import { directoriesIn, page } from "./volumes.ts";

/** Where a bucket keeps what Ozone says of it and koine's inode has no field for. */
export const STORAGE_TYPE = "ozone-storage-type";
export const VERSIONING = "ozone-versioning";

const STORAGE_TYPES = ["DISK", "SSD", "ARCHIVE", "RAM_DISK"] as const;
const VERSIONINGS = ["ENABLED", "DISABLED", "NOT_DEFINED"] as const;

/**
 * A bucket's Ozone ACLs: its recursive grants (they hold on everything in
 * the bucket, in every dialect), a grantee's READ and WRITE shown as one
 * READ_WRITE.
 */
export function ozoneAclsOf(dir: FileInfo): OzoneAcl[] {
  const acls: OzoneAcl[] = [];
  for (const grant of dir.grants ?? []) {
    if (grant.recursive !== true || (grant.permission !== "READ" && grant.permission !== "WRITE")) continue;
    const who = granteeOf(grant.grantee);
    if (!who) continue;
    const same = acls.find((a) => a.type === who.type && a.name === who.name);
    if (!same) acls.push({ ...who, rights: grant.permission });
    else if (same.rights !== grant.permission) same.rights = "READ_WRITE";
  }
  return acls;
}

function granteeOf(grantee: string): Pick<OzoneAcl, "type" | "name"> | undefined {
  if (grantee === "AllUsers") return { type: "WORLD", name: "" };
  if (grantee.startsWith("user:")) return { type: "USER", name: grantee.slice(5) };
  if (grantee.startsWith("group:")) return { type: "GROUP", name: grantee.slice(6) };
  return undefined;
}

/** The grants of a bucket with these Ozone ACLs; its other grants (S3's, on the directory only) kept. */
export function grantsWith(dir: FileInfo | undefined, acls: readonly OzoneAcl[]): Grant[] {
  const kept = (dir?.grants ?? []).filter((g) => g.recursive !== true);
  const grants: Grant[] = [];
  for (const acl of acls) {
    const grantee = acl.type === "WORLD" ? "AllUsers" : `${acl.type === "USER" ? "user" : "group"}:${acl.name}`;
    if (acl.rights !== "WRITE") grants.push({ grantee, permission: "READ", recursive: true });
    if (acl.rights !== "READ") grants.push({ grantee, permission: "WRITE", recursive: true });
  }
  return [...kept, ...grants];
}

/** One header of two spellings (the code's and the docs'), at most once, its value upper-cased; undefined when absent. */
function singleHeader(req: FastifyRequest, names: readonly string[], code: "MALFORMED_BUCKET_VERSION" | "MALFORMED_STORAGE_TYPE") {
  const values = names.flatMap((n) => headerValues(req, n));
  if (values.length > 1) throw new OzoneError(code);
  return values[0]?.trim().toUpperCase();
}

/** What a create or update request says of a bucket: its ACL changes, versioning and storage type (undefined: unchanged). */
function bucketArgs(req: FastifyRequest) {
  const acls = aclChanges([...headerValues(req, "x-ozone-acls"), ...headerValues(req, "x-ozone-acl")]);
  const versioning = singleHeader(req, ["x-ozone-bucket-versioning"], "MALFORMED_BUCKET_VERSION");
  if (versioning !== undefined && !(VERSIONINGS as readonly string[]).includes(versioning)) {
    throw new OzoneError("MALFORMED_BUCKET_VERSION");
  }
  let storageType = singleHeader(req, ["x-ozone-storage-type", "x-ozone-storage-class"], "MALFORMED_STORAGE_TYPE");
  if (storageType === "DEFAULT") storageType = "DISK";
  if (storageType !== undefined && !(STORAGE_TYPES as readonly string[]).includes(storageType)) {
    throw new OzoneError("MALFORMED_STORAGE_TYPE");
  }
  return { acls, versioning: versioning === "NOT_DEFINED" ? undefined : versioning, storageType };
}

/** BucketInfo as Ozone writes it (`bytesUsed` and `keyCount` left out, as Ozone filters them on info). */
export function bucketInfo(volume: string, dir: FileInfo) {
  return {
    volumeName: volume,
    bucketName: dir.name,
    createdOn: formatOzoneDate(new Date(dir.createdMs)),
    acls: ozoneAclsOf(dir),
    versioning: dir.userMeta[VERSIONING] ?? "DISABLED",
    storageType: dir.userMeta[STORAGE_TYPE] ?? "DISK",
  };
}

/** ListBuckets of a volume: its directories, by prefix, after prev-key, at most `max`. */
export async function listBuckets(ctx: OzoneContext, volume: string, q: Record<string, string | undefined>, max: number) {
  const dirs = page(await directoriesIn(ctx, `/${volume}`), (d) => d.name, q.prefix ?? "", q["prev-key"], max);
  return { buckets: dirs.map((dir) => bucketInfo(volume, dir)) };
}

/** Ozone's largest page of keys the namespace answers at once. */
const KEYS_PER_REQUEST = 1000;

/**
 * Buckets: the directories of a volume, with ACLs that are recursive
 * grants of the one permission model, versioning and storage type.
 */
export function bucketRoutes(app: FastifyInstance, ctx: OzoneContext): Record<"GET" | "PUT" | "POST" | "DELETE", BucketHandler> {
  const names = (req: FastifyRequest) => ({ volume: params(req).volume as string, bucket: params(req).bucket as string });
  const failure = (op: string) => (req: FastifyRequest) => {
    const { volume, bucket } = names(req);
    return { op, missing: "BUCKET" as const, resource: `${volume}/${bucket}` };
  };

  const create = handler(ctx, "create bucket", failure("Bucket creation"), async (req, reply) => {
    const { volume, bucket } = names(req);
    const principal = caller(ctx, req, "bucket", volume);
    const args = bucketArgs(req);
    if (args.acls.remove.length > 0) throw new OzoneError("MALFORMED_ACL", "Invalid Remove ACLs", `${volume}/${bucket}`);
    await may(ctx, principal, "s3:PutObject", `/${volume}/${bucket}`);
    await volumeAt(ctx, volume, "Bucket creation");
    const path = `/${volume}/${bucket}`;
    const exists = () => new OzoneError("BUCKET_ALREADY_EXISTS", "Bucket creation failed, error: BUCKET_ALREADY_EXISTS", path.slice(1));
    if (await ctx.client.find(path)) throw exists();
    try {
      await ctx.client.mkdir(path, { exclusive: true, owner: principal.user, group: principal.groups[0] ?? "", mode: 0o700 });
    } catch (err) {
      if (await ctx.client.find(path)) throw exists();
      throw err;
    }
    await ctx.client.setAttributes(path, {
      grants: grantsWith(undefined, changedAcls([], args.acls)),
      userMeta: { [STORAGE_TYPE]: args.storageType ?? "DISK", [VERSIONING]: args.versioning ?? "DISABLED" },
    });
    return reply.code(201).send();
  });

  const update = handler(ctx, "update bucket", failure("Setting bucket property"), async (req, reply) => {
    const { volume, bucket } = names(req);
    const principal = caller(ctx, req, "bucket", volume);
    const args = bucketArgs(req);
    const path = `/${volume}/${bucket}`;
    await may(ctx, principal, "koine:SetPermissions", path);
    const dir = await bucketAt(ctx, volume, bucket, "Setting bucket property");
    const userMeta = { ...dir.userMeta };
    if (args.versioning !== undefined) userMeta[VERSIONING] = args.versioning;
    if (args.storageType !== undefined) userMeta[STORAGE_TYPE] = args.storageType;
    const acls = args.acls.add.length + args.acls.remove.length > 0 ? changedAcls(ozoneAclsOf(dir), args.acls) : undefined;
    await ctx.client.setAttributes(path, { userMeta, ...(acls ? { grants: grantsWith(dir, acls) } : {}) });
    return reply.send();
  });

  const remove = handler(ctx, "delete bucket", failure("Delete Bucket"), async (req, reply) => {
    const { volume, bucket } = names(req);
    const principal = caller(ctx, req, "bucket", volume);
    await may(ctx, principal, "s3:DeleteObject", `/${volume}/${bucket}`);
    await bucketAt(ctx, volume, bucket, "Delete Bucket");
    await ctx.client.delete(`/${volume}/${bucket}`);
    return reply.send();
  });

  const get = handler(ctx, "bucket info or list keys", failure("List Keys"), async (req, reply) => {
    const { volume, bucket } = names(req);
    const principal = caller(ctx, req, "bucket", volume);
    const q = query(req);
    const info = q.info ?? "key";
    if (info === "bucket") {
      await may(ctx, principal, "s3:ListBucket", `/${volume}/${bucket}`);
      return sendJson(reply, bucketInfo(volume, await bucketAt(ctx, volume, bucket, "Info Bucket")));
    }
    if (info !== "key") throw new OzoneError("INVALID_QUERY_PARAM", `Unrecognized query param : ${info}`, `${volume}/${bucket}`);
    const max = maxKeysOf(req, "bucket");
    await may(ctx, principal, "s3:ListBucket", `/${volume}/${bucket}`);
    await bucketAt(ctx, volume, bucket, "List Keys");
    const base = `${bucket}/`;
    const prefix = q.prefix ?? "";
    const keys = [];
    let startAfter = q["prev-key"] === undefined ? "" : base + q["prev-key"];
    let truncated = true;
    while (keys.length < max && truncated) {
      const want = Math.min(KEYS_PER_REQUEST, max - keys.length);
      const reply = await ctx.client.listKeys(volume, { prefix: base + prefix, delimiter: "", startAfter, maxKeys: want });
      for (const entry of reply.keys) if (!entry.key.endsWith("/")) keys.push(entry);
      truncated = reply.truncated;
      startAfter = reply.last;
    }
    return sendJson(reply, {
      name: bucket,
      prefix: prefix === "" ? null : prefix,
      maxKeys: max,
      truncated,
      keyList: keys.map((k) =>
        keyInfo({ name: k.key.slice(base.length), size: k.size, etag: k.etag, createdMs: k.createdMs ?? k.mtimeMs, mtimeMs: k.mtimeMs }),
      ),
    });
  });

  const handlers = { GET: get, PUT: update, POST: create, DELETE: remove };
  for (const [method, h] of Object.entries(handlers)) app.route({ method, url: "/:volume/:bucket", handler: h });
  return handlers;
}

export type BucketHandler = ReturnType<typeof handler>;
