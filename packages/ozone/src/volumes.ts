import type { Principal } from "@koine/access";
import type { FileInfo } from "@koine/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { listBuckets } from "./buckets.ts";
import { caller, handler, maxKeysOf, may, type OzoneContext, onBehalfOf, params, query, sendJson, volumeAt } from "./context.ts";
import { formatOzoneDate } from "./dates.ts";
import { OzoneError } from "./errors.ts";
import { MAX_QUOTA_BYTES, parseQuota, quotaOf } from "./quota.ts";

/** Where a volume keeps what Ozone says of it and koine's inode has no field for. */
export const CREATED_BY = "ozone-created-by";

/** The volume segment of a volume call; `GET /` is Ozone's `GET /service?info=service` (its ServiceFilter). */
const volumeOf = (req: FastifyRequest) => params(req).volume ?? "service";

/** VolumeInfo as Ozone writes it (`bytesUsed` and `bucketCount` left out, as Ozone filters them on info). */
export function volumeInfo(dir: FileInfo) {
  return {
    owner: dir.owner === "" ? {} : { name: dir.owner },
    quota: quotaOf(dir.quotaBytes ?? MAX_QUOTA_BYTES),
    volumeName: dir.name,
    createdOn: formatOzoneDate(new Date(dir.createdMs)),
    createdBy: dir.userMeta[CREATED_BY] ?? null,
  };
}

/** Names in Ozone's listing order (byte order) after `prevKey` (exclusive, need not exist) with `prefix`, at most `max`. */
export function page<T>(items: readonly T[], nameOf: (item: T) => string, prefix: string, prevKey: string | undefined, max: number): T[] {
  return items
    .filter((item) => nameOf(item).startsWith(prefix) && (prevKey === undefined || nameOf(item) > prevKey))
    .sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0))
    .slice(0, max);
}

/** Every directory right below `path`, a page of the listing at a time. */
export async function directoriesIn(ctx: OzoneContext, path: string): Promise<FileInfo[]> {
  const dirs: FileInfo[] = [];
  let after: string | undefined;
  for (;;) {
    const { entries, truncated } = await ctx.client.list(path, { limit: 10000, ...(after === undefined ? {} : { after }) });
    for (const e of entries) if (e.type === "directory") dirs.push(e);
    const last = entries[entries.length - 1];
    if (!truncated || last === undefined) return dirs;
    after = last.type === "directory" ? `${last.name}/` : last.name;
  }
}

/**
 * Volumes: the top-level directories (S3's buckets) with an owner, a quota
 * (kept and enforced by metadata) and who created them. Creating and
 * changing volumes is an admin's; deleting one its owner's too (Ozone's
 * documented intent and koine's rule for buckets).
 */
export function volumeRoutes(app: FastifyInstance, ctx: OzoneContext): void {
  const failure = (op: string) => (req: FastifyRequest) => ({ op, missing: "VOLUME" as const, resource: volumeOf(req) });

  /** 403 accessDenied unless an admin: Ozone's check, and koine's for what sets owners and quotas. */
  const asAdmin = (principal: Principal, volume: string) => may(ctx, principal, "koine:Admin", `/${volume}`);

  const createVolume = handler(ctx, "create volume", failure("Volume creation"), async (req, reply) => {
    const volume = volumeOf(req);
    const principal = caller(ctx, req, "volume", volume);
    await asAdmin(principal, volume);
    const owner = onBehalfOf(req);
    if (owner === undefined || owner === "") throw new OzoneError("USER_NOT_FOUND", undefined, `${principal.user}/${volume}`);
    const quotaText = query(req).quota;
    const quotaBytes = quotaText === undefined ? undefined : parseQuota(quotaText);
    const exists = () => new OzoneError("VOLUME_ALREADY_EXISTS", "Volume creation failed, error:VOLUME_ALREADY_EXISTS", volume);
    if (await ctx.client.find(`/${volume}`)) throw exists();
    try {
      await ctx.client.mkdir(`/${volume}`, { exclusive: true, owner, mode: 0o700 });
    } catch (err) {
      if (await ctx.client.find(`/${volume}`)) throw exists();
      throw err;
    }
    await ctx.client.setAttributes(`/${volume}`, {
      userMeta: { [CREATED_BY]: principal.user },
      ...(quotaBytes === undefined ? {} : { quotaBytes }),
    });
    return reply.code(201).send();
  });

  const updateVolume = handler(ctx, "update volume", failure("Volume owner change"), async (req, reply) => {
    const volume = volumeOf(req);
    const principal = caller(ctx, req, "volume", volume);
    await asAdmin(principal, volume);
    const owner = onBehalfOf(req);
    const quotaText = query(req).quota;
    const quotaBytes = quotaText === undefined ? undefined : quotaText === "remove" ? null : parseQuota(quotaText);
    await volumeAt(ctx, volume, owner !== undefined ? "Volume owner change" : "Volume quota change");
    if (owner !== undefined || quotaBytes !== undefined) {
      await ctx.client.setAttributes(`/${volume}`, {
        ...(owner === undefined ? {} : { owner }),
        ...(quotaBytes === undefined ? {} : { quotaBytes }),
      });
    }
    return reply.send();
  });

  const deleteVolume = handler(ctx, "delete volume", failure("Delete Volume"), async (req, reply) => {
    const volume = volumeOf(req);
    const principal = caller(ctx, req, "volume", volume);
    await may(ctx, principal, "s3:DeleteBucket", `/${volume}`);
    await volumeAt(ctx, volume, "Delete Volume");
    await ctx.client.delete(`/${volume}`);
    return reply.send();
  });

  const listVolumes = async (req: FastifyRequest, principal: Principal) => {
    const q = query(req);
    const max = maxKeysOf(req, "volume");
    const rootScan = q["root-scan"]?.toLowerCase() === "true";
    if (rootScan && !principal.admin) throw new OzoneError("UNAUTHORIZED", undefined, volumeOf(req));
    const whose = principal.admin ? (onBehalfOf(req) ?? principal.user) : principal.user;
    const volumes = (await directoriesIn(ctx, "/")).filter((dir) => rootScan || (whose !== "" && dir.owner === whose));
    const listed = page(volumes, (v) => v.name, q.prefix ?? "", q["prev-key"], max);
    return { volumes: listed.map((dir) => ({ ...volumeInfo(dir), bytesUsed: dir.usedBytes ?? 0 })) };
  };

  app.get(
    "/",
    handler(ctx, "list volumes", failure("List volume"), async (req, reply) => {
      const principal = caller(ctx, req, "volume", "service");
      return sendJson(reply, await listVolumes(req, principal), "application/octet-stream");
    }),
  );

  const getVolume = handler(ctx, "volume info or list", failure("Info Volume"), async (req, reply) => {
    const volume = volumeOf(req);
    const principal = caller(ctx, req, "volume", volume);
    const info = query(req).info ?? "bucket";
    if (info === "service") return sendJson(reply, await listVolumes(req, principal), "application/octet-stream");
    if (info === "volume") {
      if ((query(req).prefix ?? "") !== "") throw new OzoneError("INVALID_QUERY_PARAM", undefined, volume);
      await may(ctx, principal, "s3:ListBucket", `/${volume}`);
      return sendJson(reply, volumeInfo(await volumeAt(ctx, volume, "Info Volume")), "application/octet-stream");
    }
    if (info === "bucket") {
      const max = maxKeysOf(req, "volume");
      await may(ctx, principal, "s3:ListBucket", `/${volume}`);
      await volumeAt(ctx, volume, "List Buckets");
      return sendJson(reply, await listBuckets(ctx, volume, query(req), max), "application/octet-stream");
    }
    throw new OzoneError("INVALID_QUERY_PARAM", `Unrecognized query param : ${info}`, volume);
  });

  // "/v/" is the volume.
  const handlers = { POST: createVolume, PUT: updateVolume, DELETE: deleteVolume, GET: getVolume };
  for (const [method, h] of Object.entries(handlers)) {
    for (const url of ["/:volume", "/:volume/"]) app.route({ method, url, handler: h });
  }
}
