import { type Action, type BearerTokens, type Identities, type Principal, principalOf } from "@koine/access";
import type { FileSystemClient } from "@koine/client";
import { nameOperation } from "@koine/metrics";
import { ErrorCode, type FileInfo, KoineError } from "@koine/protocol";
import { authenticateHttp } from "@koine/s3";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AisError, type AisTarget, sendAisError, toAisError } from "./errors.ts";

/** What every part of the dialect works with. */
export interface AisContext {
  client: FileSystemClient;
  identities: Identities;
  tokens: BearerTokens;
  /** This node's id in the cluster map and in error texts (`p[...]` for a gateway, the cache node's id for a target). */
  nodeId: string;
}

export type ActionMsg = { action?: unknown; name?: unknown; value?: unknown };

/** Bodies fastify leaves unread (GET's): the most of an ActionMsg read here. */
export const MAX_ACTION_BYTES = 1024 * 1024;

/** An AIS bucket name: letters, digits, "-", "_" and "." (one path segment). */
export function bucketName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(name) || name === "." || name === "..") throw new AisError(400, `invalid bucket name "${name}"`);
  return name;
}

/** An object name: any but "" and NUL ("a//b", "a/../b" and "a/" are names, never steps). */
export function objectName(name: string): string {
  if (name === "" || name.includes("\0")) {
    throw new AisError(400, `invalid object name "${name}"`);
  }
  return name;
}

/** The bucket providers koine serves: its own buckets, and S3 buckets mounted as under-stores. */
export type Provider = "ais" | "aws";

/** The request's provider (none: ais; s3 is aws). */
export function providerOf(req: FastifyRequest): Provider {
  const provider = (req.query as Record<string, string | undefined>).provider;
  if (provider === undefined || provider === "" || provider === "ais") return "ais";
  if (provider === "aws" || provider === "s3") return "aws";
  throw new AisError(501, `provider "${provider}" is not implemented: koine serves ais:// buckets and aws:// (mounted S3) ones`);
}

/** A bucket a request names: its provider and name, and the top-level directory holding it. */
export interface BucketRef {
  provider: Provider;
  name: string;
  /** `ais://b`, as error texts name it. */
  uname: string;
  /** The bucket's directory: `/b` for an ais bucket; the mount of `s3://b` for an aws one. */
  path: string;
}

/** The S3 bucket a mount's under-store is, when it is one whole S3 bucket mounted at a top-level directory. */
export function s3BucketOf(mount: { path: string; uri: string }): string | undefined {
  const m = /^s3a?:\/\/([^/]+)\/?$/.exec(mount.uri);
  return m && /^\/[^/]+$/.test(mount.path) ? m[1] : undefined;
}

export function bucketRefOf(ctx: AisContext, req: FastifyRequest, name: string): BucketRef {
  const provider = providerOf(req);
  bucketName(name);
  const uname = `${provider}://${name}`;
  if (provider === "ais") return { provider, name, uname, path: `/${name}` };
  const mount = ctx.client.mounts().find((m) => s3BucketOf(m) === name);
  if (!mount) throw new AisError(404, `bucket "${uname}" does not exist`);
  return { provider, name, uname, path: mount.path };
}

export function actionOf(body: unknown): ActionMsg {
  return body && typeof body === "object" && !Array.isArray(body) ? (body as ActionMsg) : {};
}

/** An action's name, with the 3.x names taken as aliases of today's. */
export function actionName(msg: ActionMsg): string | undefined {
  const name = typeof msg.action === "string" ? msg.action : undefined;
  return name === undefined ? undefined : (LEGACY_ACTIONS[name] ?? name);
}

const LEGACY_ACTIONS: Record<string, string> = {
  createlb: "create-bck",
  destroylb: "destroy-bck",
  renamelb: "move-bck",
  copybck: "copy-bck",
  listobj: "list",
  listobjects: "list",
  setbprops: "set-bprops",
  setprops: "set-bprops",
  resetbprops: "reset-bprops",
  resetprops: "reset-bprops",
  delete: "delete-listrange",
  evictobj: "evict-listrange",
  evictobjects: "evict-listrange",
  prefetch: "prefetch-listrange",
  evictcb: "evict-remote-bck",
  rename: "rename-obj",
  renameobj: "rename-obj",
  summarybck: "summary-bck",
  makencopies: "make-n-copies",
  ecencode: "ec-encode",
};

/** The request's ActionMsg: the body fastify parsed, or a GET's body read here. */
export function actionMsgOf(req: FastifyRequest): Promise<ActionMsg> {
  return req.method === "GET" ? readActionMsg(req) : Promise.resolve(actionOf(req.body));
}

/** A JSON ActionMsg read from a body fastify left unread (GET's, and objects' POST and PATCH). */
export async function readActionMsg(req: FastifyRequest): Promise<ActionMsg> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ACTION_BYTES) throw new AisError(400, "the request body is too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  try {
    return actionOf(JSON.parse(text));
  } catch {
    throw new AisError(400, "the request body is not JSON");
  }
}

/** Who asks: an AIS bearer token, or koine credentials (Basic, SigV4), or nobody. */
export function callerOf(ctx: AisContext, req: FastifyRequest): Principal {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ")) {
    const accessKey = ctx.tokens.verify(header.slice(7).trim());
    const user = accessKey === undefined ? undefined : ctx.identities.userOf(accessKey);
    if (!user) throw new AisError(401, "invalid or expired token");
    return principalOf(user, { sourceIp: req.ip, secureTransport: req.protocol === "https" });
  }
  try {
    return authenticateHttp(req, ctx.identities, "koine");
  } catch (err) {
    if (err instanceof KoineError && err.code === ErrorCode.Unauthenticated) throw new AisError(401, err.message);
    throw err;
  }
}

/** The directory of a bucket, or AIS's 404 `bucket "ais://b" does not exist`. */
export async function bucketAt(ctx: AisContext, bucket: BucketRef): Promise<FileInfo> {
  const info = await ctx.client.find(bucket.path);
  if (info?.type !== "directory") throw new AisError(404, `bucket "${bucket.uname}" does not exist`);
  return info;
}

export function may(ctx: AisContext, principal: Principal, action: Action, path: string): Promise<void> {
  return ctx.client.authorize(principal, action, path);
}

export const params = (req: FastifyRequest) => req.params as { bucket?: string; "*"?: string };
/** The bucket of an error text, as `ais://b` (a provider koine does not serve is named as asked). */
function unameOf(req: FastifyRequest): string {
  const provider = (req.query as Record<string, string | undefined>).provider;
  const scheme = provider === undefined || provider === "" ? "ais" : provider === "s3" ? "aws" : provider;
  return `${scheme}://${params(req).bucket}`;
}
export const bucketTarget = (req: FastifyRequest): AisTarget => (params(req).bucket === undefined ? {} : { bucket: unameOf(req) });
export const objectTarget = (req: FastifyRequest): AisTarget => ({ bucket: unameOf(req), object: params(req)["*"] as string });

/** A route handler that names its operation in the metrics and answers whatever it throws as AIS does. */
export function handler(
  ctx: AisContext,
  operation: string,
  target: (req: FastifyRequest) => AisTarget,
  run: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    nameOperation(req.raw, operation);
    try {
      return await run(req, reply);
    } catch (err) {
      const e = toAisError(err, target(req));
      if (e.status >= 500 && e.status !== 501 && e.status !== 503) req.log.error({ err }, "internal error");
      if (reply.sent) {
        reply.raw.destroy();
        return reply;
      }
      return sendAisError(req, reply, e, ctx.nodeId);
    }
  };
}
