import { Readable } from "node:stream";
import type { Principal } from "@koine/access";
import { type FileInfo, isObjectAt, parentPath, type Upload } from "@koine/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type ActionMsg,
  type AisContext,
  actionName,
  type BucketRef,
  bucketAt,
  bucketRefOf,
  bucketTarget,
  callerOf,
  handler,
  may,
  objectName,
  objectTarget,
  params,
  readActionMsg,
} from "./context.ts";
import { AisError } from "./errors.ts";
import { promote, promoteArgsOf } from "./promote.ts";
import { checksumEntry, checksummer, checksumOf, checksumTypeOf } from "./props.ts";
import { hrwOwner, ownerOf, type Redirects, targetsOf } from "./redirect.ts";

/** The entry flag of an object present in the cluster (SDK `is_cached()`). */
export const ENTRY_IS_CACHED = 1 << 6;
/** AIS's separator of an append handle's fields: `<target id>|<upload id>|<type>|<parts>`. */
const HANDLE_SEPARATOR = "|";

interface ObjectAt {
  bucket: BucketRef;
  object: string;
  path: string;
}

function objectAt(ctx: AisContext, req: FastifyRequest): ObjectAt {
  const bucket = bucketRefOf(ctx, req, params(req).bucket as string);
  const object = objectName(params(req)["*"] as string);
  return { bucket, object, path: `${bucket.path}/${object}` };
}

/** "bytes=a-b", "bytes=a-", "bytes=-n" of a `size`-byte object: the offset and length, or 416. */
function rangeOf(header: string, size: number): { offset: number; length: number } {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = () => new AisError(416, `invalid range "${header}" for an object of ${size} bytes`);
  if (!m || (m[1] === "" && m[2] === "")) throw unsatisfiable();
  if (m[1] === "") {
    const suffix = Math.min(Number(m[2]), size);
    if (suffix === 0) throw unsatisfiable();
    return { offset: size - suffix, length: suffix };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) throw unsatisfiable();
  return { offset: start, length: end - start + 1 };
}

/** The object properties AIS sends with HEAD, GET and PUT. */
function objectHeaders(reply: FastifyReply, info: FileInfo, bucket: BucketRef, node: string): void {
  const checksum = checksumOf(info);
  if (checksum) reply.header("ais-checksum-type", checksum.type).header("ais-checksum-value", checksum.value);
  const custom = Object.entries(info.userMeta).map(([k, v]) => `${k}=${v}`);
  if (custom.length > 0) reply.header("ais-custom-md", custom.join(","));
  reply
    .header("ais-atime", String(Math.round(info.mtimeMs * 1e6)))
    .header("ais-version", "1")
    .header("ais-name", info.name)
    .header("ais-bucket-name", bucket.name)
    .header("ais-bucket-provider", bucket.provider)
    .header("ais-present", "true")
    .header("ais-location", `t[${node}]:`)
    .header("etag", `"${info.etag}"`)
    .header("last-modified", new Date(info.mtimeMs).toUTCString());
}

/**
 * `/v1/objects/{bucket}/{object}`. A gateway (`target` undefined) checks
 * who asks and what they may do, then sends the client to the target that
 * owns the object (GET 301, others 307), naming the user in a signed
 * redirect; with no target in the cluster it serves the object itself. A
 * target serves what the gateway redirected, or a client that comes
 * straight to it with its own credentials (the SDK's direct reads; one
 * that came to the wrong target is sent on to the owner).
 */
export async function objectRoutes(
  app: FastifyInstance,
  ctx: AisContext,
  redirects: Redirects,
  target: string | undefined,
  localRoots: readonly string[],
) {
  const { client } = ctx;

  const fileAt = async ({ bucket, object, path }: ObjectAt): Promise<FileInfo> => {
    const info = await client.find(path);
    if (isObjectAt(info, path)) return info;
    await bucketAt(ctx, bucket);
    throw new AisError(404, `${bucket.uname}/${object} does not exist`);
  };

  /** Who asks a target: the user a gateway's redirect names, or the client's own credentials. */
  const principalAt = (req: FastifyRequest): { principal: Principal; redirected: boolean } => {
    const redirected = target === undefined ? undefined : redirects.principalOf(req);
    return redirected ? { principal: redirected, redirected: true } : { principal: callerOf(ctx, req), redirected: false };
  };

  /**
   * Where a request goes: the target's id and URL, or undefined to serve it
   * here (a target; or a gateway of a cluster with no target). `owner` is
   * the target that should serve it.
   */
  const routeTo = (owner: string | undefined, targets: Map<string, string>) =>
    owner === undefined || owner === target || !targets.has(owner) ? undefined : (targets.get(owner) as string);
  /** Where a request for an existing object goes: the URL of the target owning it, or undefined to serve it here. */
  const ownerUrl = (info: FileInfo) => {
    const targets = targetsOf(client);
    return routeTo(ownerOf(client, targets, info), targets);
  };

  const getObject = async (req: FastifyRequest, reply: FastifyReply, at: ObjectAt, info: FileInfo) => {
    objectHeaders(reply, info, at.bucket, target ?? ctx.nodeId);
    reply.header("accept-ranges", "bytes").header("content-type", "application/octet-stream");
    const range = req.headers.range;
    if (range === undefined) return reply.header("content-length", info.size).send(await client.read(info));
    if (range.includes(",")) throw new AisError(416, "multiple ranges are not supported");
    let r: { offset: number; length: number };
    try {
      r = rangeOf(range, info.size);
    } catch (err) {
      reply.header("content-range", `bytes */${info.size}`);
      throw err;
    }
    return reply
      .code(206)
      .header("content-range", `bytes ${r.offset}-${r.offset + r.length - 1}/${info.size}`)
      .header("content-length", r.length)
      .send(await client.read(info, r.offset, r.length));
  };

  app.get(
    "/v1/objects/:bucket/*",
    { exposeHeadRoute: false },
    handler(ctx, "get object", objectTarget, async (req, reply) => {
      const at = objectAt(ctx, req);
      const { principal, redirected } = principalAt(req);
      await may(ctx, principal, "s3:GetObject", at.path);
      const info = await fileAt(at);
      if (!redirected) {
        const to = ownerUrl(info);
        if (to !== undefined) return redirects.send(req, reply, to, 301, principal, ctx.nodeId);
      }
      return getObject(req, reply, at, info);
    }),
  );

  app.head(
    "/v1/objects/:bucket/*",
    handler(ctx, "head object", objectTarget, async (req, reply) => {
      const at = objectAt(ctx, req);
      const { principal, redirected } = principalAt(req);
      await may(ctx, principal, "s3:GetObject", at.path);
      const info = await fileAt(at);
      if (!redirected && target === undefined) {
        const to = ownerUrl(info);
        if (to !== undefined) return redirects.send(req, reply, to, 307, principal, ctx.nodeId);
      }
      objectHeaders(reply, info, at.bucket, target ?? ctx.nodeId);
      return reply.header("content-length", info.size).send();
    }),
  );

  app.delete(
    "/v1/objects/:bucket/*",
    handler(ctx, "delete object", objectTarget, async (req, reply) => {
      const at = objectAt(ctx, req);
      const { principal, redirected } = principalAt(req);
      const info = await fileAt(at);
      await may(ctx, principal, "s3:DeleteObject", at.path);
      if (!redirected && target === undefined) {
        const to = ownerUrl(info);
        if (to !== undefined) return redirects.send(req, reply, to, 307, principal, ctx.nodeId);
      }
      await client.delete(at.path, { fileOnly: true, pruneImplicitParents: true });
      return reply.send();
    }),
  );

  app.put(
    "/v1/objects/:bucket/*",
    handler(ctx, "put object", objectTarget, async (req, reply) => {
      const at = objectAt(ctx, req);
      const query = req.query as Record<string, string | undefined>;
      const appendType = query.append_type ?? query.appendty;
      const handle = query.append_handle ?? query.handle ?? "";
      const { principal, redirected } = principalAt(req);
      const bucket = await bucketAt(ctx, at.bucket);
      await may(ctx, principal, "s3:PutObject", at.path);
      if (!redirected && target === undefined) {
        const targets = targetsOf(client);
        // An append goes on where it began (the handle names the target); a new object to AIS's HRW choice.
        const owner =
          appendType !== undefined && handle !== "" ? handle.split(HANDLE_SEPARATOR)[0] : hrwOwner(targets, at.bucket, at.object);
        const to = routeTo(owner, targets);
        if (to !== undefined) return redirects.send(req, reply, to, 307, principal, ctx.nodeId);
      }
      if (appendType !== undefined) return append(req, reply, at, principal, appendType, handle);
      return putObject(req, reply, at, bucket, principal);
    }),
  );

  const body = (req: FastifyRequest) => req.raw as unknown as AsyncIterable<Uint8Array>;
  const attributesOf = (principal: Principal) => ({
    owner: principal.user,
    group: principal.groups[0] ?? "",
    mode: 0o600,
    contentType: "application/octet-stream",
  });

  /** PUT: the bytes streamed to the under-store through this node, its checksum computed on the way (and checked, when sent). */
  const putObject = async (req: FastifyRequest, reply: FastifyReply, at: ObjectAt, bucket: FileInfo, principal: Principal) => {
    const sentType = req.headers["ais-checksum-type"];
    const sentValue = req.headers["ais-checksum-value"];
    const type = typeof sentType === "string" && sentType !== "" && sentType !== "none" ? sentType : checksumTypeOf(bucket);
    const sum = checksummer(type);
    const checksums: Record<string, string> = {};
    async function* summed(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body(req)) {
        sum?.update(chunk);
        yield chunk;
      }
      if (!sum) return;
      const value = sum.hex();
      // A body that is not what the client hashed is refused before anything is committed.
      if (typeof sentValue === "string" && sentValue !== "" && sentValue.toLowerCase() !== value) {
        throw new AisError(400, `BAD DATA CHECKSUM: ${type}(${sentValue}) != ${type}(${value}) for ${at.bucket.uname}/${at.object}`);
      }
      Object.assign(checksums, checksumEntry(type, value));
    }
    const length = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
    const info = await client.writeFile(at.path, summed(), {
      attributes: { ...attributesOf(principal), checksums },
      createParents: true,
      ...(target === undefined ? {} : { writer: target }),
      ...(length === undefined || Number.isNaN(length) ? {} : { sizeHint: length }),
    });
    objectHeaders(reply, info, at.bucket, target ?? ctx.nodeId);
    return reply.send();
  };

  /**
   * APPEND and FLUSH: the appended pieces are the parts of an upload (an
   * existing object its first part), joined into the object by the flush;
   * until then the object is what it was. The handle names this node, the
   * upload and how many parts it has.
   */
  const append = async (req: FastifyRequest, reply: FastifyReply, at: ObjectAt, principal: Principal, type: string, handle: string) => {
    if (type !== "append" && type !== "flush") throw new AisError(400, `invalid append_type "${type}" (expecting append or flush)`);
    let upload: Upload;
    let parts = 0;
    if (handle === "") {
      upload = await client.createUpload(at.path, principal.user, attributesOf(principal));
      const existing = await client.find(at.path);
      if (existing?.type === "file" && existing.size > 0) {
        await client.uploadPart(upload, ++parts, await client.readStream(existing));
      }
    } else {
      const fields = handle.split(HANDLE_SEPARATOR);
      const count = Number(fields[3]);
      if (fields.length !== 4 || !Number.isSafeInteger(count) || count < 0) throw new AisError(400, `invalid append handle "${handle}"`);
      upload = await client.getUpload(fields[1] as string);
      if (upload.path !== at.path || upload.owner !== principal.user) throw new AisError(400, `invalid append handle "${handle}"`);
      parts = count;
    }
    // A flush may carry a last piece too.
    let piece = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body(req)) {
        piece += chunk.length;
        yield chunk;
      }
    }
    const written = await client.uploadPart(upload, parts + 1, counted());
    if (piece > 0 || type === "append") parts++;
    if (type === "append") {
      return reply.header("ais-append-handle", [target ?? ctx.nodeId, upload.uploadId, "none", parts].join(HANDLE_SEPARATOR)).send();
    }
    const listed: { partNumber: number; etag: string }[] = [];
    for (let after = 0; ; ) {
      const page = await client.listParts(upload.uploadId, after, 1000);
      listed.push(...page.parts.filter((p) => p.partNumber <= parts));
      if (!page.truncated || page.parts.length === 0) break;
      after = page.parts[page.parts.length - 1]?.partNumber ?? after;
    }
    if (listed.length === 0 && written.size === 0) {
      // Nothing was appended: an empty object.
      await client.abortUpload(upload.uploadId);
      await client.writeFile(at.path, Readable.from([]), { attributes: attributesOf(principal), createParents: true });
      return reply.send();
    }
    await client.completeUpload(
      upload.uploadId,
      listed.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      { anySize: true },
    );
    return reply.send();
  };

  /**
   * Promote (POST on the bucket, or on an object as the name's prefix):
   * files of a target's host, so the gateway sends it on to that target
   * (the one the message names, or HRW's for the name).
   */
  const promoteFiles = async (req: FastifyRequest, reply: FastifyReply, bucket: BucketRef, object: string, msg: ActionMsg) => {
    const { principal, redirected } = principalAt(req);
    const args = promoteArgsOf(msg.name, msg.value);
    await bucketAt(ctx, bucket);
    if (!redirected && target === undefined) {
      const targets = targetsOf(client);
      const chosen = (msg.value as { tid?: unknown } | undefined)?.tid;
      const owner = typeof chosen === "string" && chosen !== "" ? chosen : hrwOwner(targets, bucket, args.obj || object);
      if (owner !== undefined && !targets.has(owner)) throw new AisError(404, `target "${owner}" does not exist`);
      const to = routeTo(owner, targets);
      // A 307 keeps the method and the body: the target reads the same message.
      if (to !== undefined) return redirects.send(req, reply, to, 307, principal, ctx.nodeId);
    }
    await promote(client, principal, localRoots, bucket.path, { ...args, obj: args.obj || object }, target);
    return reply.send("");
  };

  app.post(
    "/v1/objects/:bucket",
    handler(ctx, "promote", bucketTarget, async (req, reply) => {
      const msg = await readActionMsg(req);
      if (actionName(msg) !== "promote") throw new AisError(400, `object action "${String(msg.action)}" is not valid here`);
      return promoteFiles(req, reply, bucketRefOf(ctx, req, params(req).bucket as string), "", msg);
    }),
  );

  // POST: rename-obj (metadata: the gateway's), promote; PATCH: custom metadata.
  app.post(
    "/v1/objects/:bucket/*",
    handler(ctx, "object action", objectTarget, async (req, reply) => {
      const at = objectAt(ctx, req);
      const msg = await readActionMsg(req);
      const action = actionName(msg);
      if (action === "promote") return promoteFiles(req, reply, at.bucket, at.object, msg);
      if (action !== "rename-obj") throw new AisError(400, `object action "${String(msg.action)}" is not valid`);
      if (typeof msg.name !== "string") throw new AisError(400, "rename-obj needs the new name");
      const to = `${at.bucket.path}/${objectName(msg.name)}`;
      const principal = callerOf(ctx, req);
      await fileAt(at);
      await may(ctx, principal, "s3:GetObject", at.path);
      await may(ctx, principal, "s3:DeleteObject", at.path);
      await may(ctx, principal, "s3:PutObject", to);
      const parent = parentPath(to);
      if (parent !== at.bucket.path && !(await client.find(parent))) await client.mkdir(parent, { recursive: true, owner: principal.user });
      await client.rename(at.path, to);
      return reply.send();
    }),
  );

  app.patch(
    "/v1/objects/:bucket/*",
    handler(ctx, "set custom metadata", objectTarget, async (req, reply) => {
      const at = objectAt(ctx, req);
      const msg = await readActionMsg(req);
      const value = msg.value;
      if (typeof value !== "object" || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== "string")) {
        throw new AisError(400, "custom metadata must be a map of strings");
      }
      const principal = callerOf(ctx, req);
      const info = await fileAt(at);
      await may(ctx, principal, "koine:SetAttributes", at.path);
      const replace = (req.query as Record<string, string | undefined>)["set-new-custom"] === "true";
      await client.setAttributes(at.path, { userMeta: { ...(replace ? {} : info.userMeta), ...(value as Record<string, string>) } });
      return reply.send();
    }),
  );
}
