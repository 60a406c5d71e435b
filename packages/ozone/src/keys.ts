import { createHash } from "node:crypto";
import { FileSystemClient } from "@koine/client";
import { type FileInfo, isObjectAt, parentPath, quotaExceeded } from "@koine/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { BucketHandler } from "./buckets.ts";
import { badArgument, bucketAt, caller, handler, may, type OzoneContext, params, query, sendJson } from "./context.ts";
import { formatOzoneDate } from "./dates.ts";
import { OzoneError } from "./errors.ts";

/** KeyInfo as Ozone writes it (`dataFileName` left out, as Ozone filters it); `version` is always 0, as there. */
export function keyInfo(key: { name: string; size: number; etag: string; createdMs: number; mtimeMs: number }) {
  return {
    version: 0,
    md5hash: /^[0-9a-f]{32}$/.test(key.etag) ? key.etag : null,
    createdOn: formatOzoneDate(new Date(key.createdMs)),
    modifiedOn: formatOzoneDate(new Date(key.mtimeMs)),
    size: key.size,
    keyName: key.name,
  };
}

/**
 * KeyInfoDetails: KeyInfo and where each block of the key is: the cache
 * node that holds it (`containerID`, the node's place in the sorted list of
 * cache nodes, from 1), the block's index (`localID`), its length and offset.
 */
function keyDetails(ctx: OzoneContext, name: string, file: FileInfo) {
  const nodes = ctx.client.membership
    .members()
    .map((m) => m.id)
    .sort();
  const keyLocations = FileSystemClient.blocksOf(file).map((block, index) => {
    const holder = file.persistence === "PERSISTED" ? undefined : file.cachedOn?.[index];
    const owner = holder ?? ctx.client.membership.ring.placementFor(block.key)[0];
    return {
      containerID: owner === undefined ? 0 : nodes.indexOf(owner) + 1,
      localID: index,
      length: block.range.length,
      offset: block.range.offset,
    };
  });
  return { ...keyInfo({ ...file, name }), keyLocations };
}

/** `Content-MD5` as hex: RFC 1864's base64 of the 16 bytes, or the 32 hex digits the old Ozone client sent. */
function expectedMd5(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const value = text.trim();
  if (/^[0-9a-fA-F]{32}$/.test(value)) return value.toLowerCase();
  const bytes = Buffer.from(value, "base64");
  if (bytes.length !== 16 || bytes.toString("base64") !== value)
    throw new OzoneError("BAD_DIGEST", `Content-MD5 "${value}" is neither base64 nor hex of 16 bytes`);
  return bytes.toString("hex");
}

/**
 * Keys: files below a bucket's directory. A put streams the body to the
 * cache and the under-store, checks its length (and Content-MD5) as it
 * passes, and commits only what is whole; the volume's quota is checked
 * before a byte is read and again, for certain, in the commit.
 */
export function keyRoutes(
  app: FastifyInstance,
  ctx: OzoneContext,
  bucketHandlers: Record<"GET" | "PUT" | "POST" | "DELETE", BucketHandler>,
): void {
  const names = (req: FastifyRequest) => {
    const p = params(req);
    return { volume: p.volume as string, bucket: p.bucket as string, key: p["*"] ?? "" };
  };
  const failure = (op: string) => (req: FastifyRequest) => {
    const { volume, bucket, key } = names(req);
    return { op, missing: "KEY" as const, resource: `${volume}/${bucket}/${key}` };
  };
  const keyAt = async (volume: string, bucket: string, key: string, op: string) => {
    await bucketAt(ctx, volume, bucket, op);
    const path = `/${volume}/${bucket}/${key}`;
    const info = await ctx.client.find(path);
    if (!isObjectAt(info, path)) throw new OzoneError("INVALID_KEY", `${op} failed, error:KEY_NOT_FOUND`, `${volume}/${bucket}/${key}`);
    return info;
  };

  const putKey = handler(ctx, "put key", failure("Create key"), async (req, reply) => {
    const { volume, bucket, key } = names(req);
    const principal = caller(ctx, req, "key", volume);
    const lengthText = req.headers["content-length"];
    if (lengthText === undefined) throw new OzoneError("INVALID_REQUEST", "Content-Length is a required header for putting a key.");
    const unquoted = lengthText.replace(/^"|"$/g, "");
    if (!/^\d+$/.test(unquoted) || !Number.isSafeInteger(Number(unquoted))) throw badArgument("key", `For input string: "${unquoted}"`);
    const length = Number(unquoted);
    const md5 = expectedMd5(req.headers["content-md5"] as string | undefined);
    const path = `/${volume}/${bucket}/${key}`;
    await may(ctx, principal, "s3:PutObject", path);
    await bucketAt(ctx, volume, bucket, "Create key");
    // What cannot fit is refused before a byte is read; the commit decides for certain.
    const top = await ctx.client.stat(`/${volume}`, { loadMetadata: "NEVER" });
    const replaced = top.quotaBytes === undefined ? undefined : await ctx.client.find(path);
    const added = length - (replaced?.type === "file" ? replaced.size : 0);
    if (top.quotaBytes !== undefined && added > 0 && (top.usedBytes ?? 0) + added > top.quotaBytes) {
      throw quotaExceeded(volume, added, top.usedBytes ?? 0, top.quotaBytes);
    }
    const hash = md5 === undefined ? undefined : createHash("md5");
    async function* body(): AsyncGenerator<Uint8Array> {
      let received = 0;
      try {
        for await (const chunk of req.raw as AsyncIterable<Buffer>) {
          received += chunk.length;
          hash?.update(chunk);
          yield chunk;
        }
      } catch {
        // The client went away before sending what it said it would.
      }
      if (received !== length)
        throw new OzoneError("INCOMPLETE_BODY", `Body length mismatch. Expected length : ${length} Found ${received}`, path.slice(1));
      if (hash && hash.digest("hex") !== md5) throw new OzoneError("BAD_DIGEST", undefined, path.slice(1));
    }
    await ctx.client.writeFile(path, body(), {
      attributes: { owner: principal.user, group: principal.groups[0] ?? "", mode: 0o600, contentType: "application/octet-stream" },
      createParents: true,
      sizeHint: length,
    });
    return reply.code(201).send();
  });

  const getKey = handler(ctx, "get key", failure("Lookup key"), async (req, reply) => {
    const { volume, bucket, key } = names(req);
    const principal = caller(ctx, req, "key", volume);
    const info = query(req).info;
    if (info !== undefined && info !== "key" && info !== "key-detail") {
      throw new OzoneError("INVALID_QUERY_PARAM", `Unrecognized query param : ${info}`, `${volume}/${bucket}/${key}`);
    }
    await may(ctx, principal, "s3:GetObject", `/${volume}/${bucket}/${key}`);
    const file = await keyAt(volume, bucket, key, "Lookup key");
    if (info === "key") return sendJson(reply, keyInfo({ ...file, name: key }));
    if (info === "key-detail") return sendJson(reply, keyDetails(ctx, key, file));
    reply.header("content-type", "application/octet-stream").header("content-length", file.size);
    // A HEAD (JAX-RS answers it with the GET resource, no body) reads nothing.
    return reply.send(req.method === "HEAD" ? undefined : await ctx.client.read(file));
  });

  const deleteKey = handler(ctx, "delete key", failure("Delete key"), async (req, reply) => {
    const { volume, bucket, key } = names(req);
    const principal = caller(ctx, req, "key", volume);
    await may(ctx, principal, "s3:DeleteObject", `/${volume}/${bucket}/${key}`);
    await keyAt(volume, bucket, key, "Delete key");
    await ctx.client.delete(`/${volume}/${bucket}/${key}`, { fileOnly: true, pruneImplicitParents: true });
    return reply.send();
  });

  const renameKey = handler(ctx, "rename key", failure("Rename key"), async (req, reply) => {
    const { volume, bucket, key } = names(req);
    const principal = caller(ctx, req, "key", volume);
    const toKey = query(req).toKey;
    if (toKey === undefined) throw new OzoneError("INVALID_REQUEST", "toKey is a required query parameter for renaming a key.");
    if (toKey === "") throw new OzoneError("INVALID_REQUEST", "Rename key failed, error:INVALID_KEY_NAME");
    const from = `/${volume}/${bucket}/${key}`;
    const to = `/${volume}/${bucket}/${toKey}`;
    await may(ctx, principal, "s3:GetObject", from);
    await may(ctx, principal, "s3:DeleteObject", from);
    await may(ctx, principal, "s3:PutObject", to);
    await keyAt(volume, bucket, key, "Rename key");
    if (toKey === key) return reply.send();
    if (await ctx.client.find(to)) {
      throw new OzoneError("KEY_OPERATION_CONFLICT", "Rename key failed, error:KEY_ALREADY_EXISTS", `${volume}/${bucket}/${toKey}`);
    }
    const parent = parentPath(to);
    if (!(await ctx.client.find(parent))) await ctx.client.mkdir(parent, { recursive: true, owner: principal.user, mode: 0o700 });
    await ctx.client.rename(from, to);
    return reply.send();
  });

  // "/v/b/" is the bucket (the docs list keys with it).
  const orBucket =
    (method: keyof typeof bucketHandlers, keyHandler: ReturnType<typeof handler>): ReturnType<typeof handler> =>
    (req, reply) =>
      names(req).key === "" ? bucketHandlers[method](req, reply) : keyHandler(req, reply);
  app.put("/:volume/:bucket/*", orBucket("PUT", putKey));
  // HEAD first: fastify then leaves it to this handler instead of making one from GET's (which would read the bytes).
  app.head("/:volume/:bucket/*", orBucket("GET", getKey));
  app.get("/:volume/:bucket/*", orBucket("GET", getKey));
  app.delete("/:volume/:bucket/*", orBucket("DELETE", deleteKey));
  app.post("/:volume/:bucket/*", orBucket("POST", renameKey));
}
