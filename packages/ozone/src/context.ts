import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type Action, anonymous, type Identities, type Principal } from "@koine/access";
import type { FileSystemClient } from "@koine/client";
import { nameOperation } from "@koine/metrics";
import { ErrorCode, type FileInfo, KoineError } from "@koine/protocol";
import { authenticateHttp } from "@koine/s3";
import type { FastifyReply, FastifyRequest } from "fastify";
import { formatOzoneDate, parseOzoneDate } from "./dates.ts";
import { OzoneError } from "./errors.ts";
import { jacksonPretty } from "./json.ts";
import { resourceNameProblem } from "./names.ts";

/**
 * How the gateway takes `Authorization: OZONE <user>`: "simple" as Ozone's
 * SIMPLE mode (the name at its word; root, hdfs and the configured names
 * are admins), "koine" only as anonymous (`OZONE` alone): users sign with
 * a koine key (HTTP Basic or SigV4) in its place.
 */
export type OzoneAuthMode = "koine" | "simple";

/** What every part of the dialect works with. */
export interface OzoneContext {
  client: FileSystemClient;
  identities: Identities;
  auth: OzoneAuthMode;
  /** The Ozone admins of SIMPLE mode (lower case): root, hdfs and KOINE_OZONE_ADMINS. */
  admins: ReadonlySet<string>;
  /** The groups of SIMPLE-mode users (KOINE_OZONE_GROUPS). */
  groups: ReadonlyMap<string, readonly string[]>;
  /** `x-ozone-server-name` and the errors' `hostName`. */
  serverName: string;
}

/** Ozone's admins whatever the configuration (`OzoneConsts.OZONE_SIMPLE_ROOT_USER`, `OZONE_SIMPLE_HDFS_USER`). */
export const BUILT_IN_ADMINS = ["root", "hdfs"] as const;

/** The host name Ozone puts in `x-ozone-server-name` (`InetAddress.getLocalHost().getHostName()`, else localhost). */
export function serverName(): string {
  try {
    return hostname() || "localhost";
  } catch {
    return "localhost";
  }
}

/**
 * `KOINE_OZONE_GROUPS` in Hadoop's static group mapping syntax
 * (`hadoop.user.group.static.mapping.overrides`): `user=group,group;user=`.
 */
export function parseOzoneGroups(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const entry of text.split(";")) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new Error(`KOINE_OZONE_GROUPS: "${entry}" is not user=group,group`);
    const user = entry.slice(0, eq).trim().toLowerCase();
    const list = entry
      .slice(eq + 1)
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g !== "");
    groups.set(user, list);
  }
  return groups;
}

/** Which handler template a call goes through: it decides which name is checked and which error a bad argument is. */
export type CallKind = "volume" | "bucket" | "key";

/** The headers a request sent under `name`, every time it sent it (node keeps only the first Authorization). */
export function headerValues(req: FastifyRequest, name: string): string[] {
  const raw = req.raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) values.push(raw[i + 1] as string);
  return values;
}

export const params = (req: FastifyRequest) => req.params as { volume?: string; bucket?: string; "*"?: string };
export const query = (req: FastifyRequest) => req.query as Record<string, string | undefined>;

/** Ozone's "an argument is bad" error of a call kind (its templates turn every IllegalArgumentException into it). */
export function badArgument(kind: CallKind, message: string, resource: string | null = null): OzoneError {
  return new OzoneError(kind === "volume" ? "INVALID_VOLUME_NAME" : "INVALID_BUCKET_NAME", message, resource);
}

/**
 * The checks every call makes before its handler, in Ozone's order
 * (`*ProcessTemplate.handleCall`): `x-ozone-version` present (any value),
 * `Date` present and parseable (never compared with the clock), the volume
 * name (volume calls) or the bucket name (bucket and key calls), one
 * `Authorization` starting with `OZONE`; then who asks.
 */
export function caller(ctx: OzoneContext, req: FastifyRequest, kind: CallKind, volume: string): Principal {
  const bucket = params(req).bucket ?? null;
  const headerResource = kind === "volume" ? volume : bucket;
  if (req.headers["x-ozone-version"] === undefined) throw new OzoneError("MISSING_VERSION", undefined, headerResource);
  const date = req.headers.date;
  if (date === undefined) throw new OzoneError("MISSING_DATE", undefined, headerResource);
  const parsed = parseOzoneDate(date);
  if ("error" in parsed) throw new OzoneError("BAD_DATE", parsed.error, headerResource);
  const nameProblem = kind === "volume" ? resourceNameProblem(volume) : resourceNameProblem(bucket);
  if (nameProblem !== undefined) throw badArgument(kind, nameProblem);
  const authorization = headerValues(req, "authorization");
  const facts = { sourceIp: req.ip, secureTransport: req.protocol === "https" };
  if (authorization.length !== 1) throw new OzoneError("BAD_AUTHORIZATION");
  const value = (authorization[0] as string).trim();
  if (/^(Basic|AWS4-HMAC-SHA256) /.test(value)) {
    // koine credentials where Ozone has its header: a user that is proven, whatever the mode.
    try {
      return authenticateHttp(req, ctx.identities, "koine");
    } catch (err) {
      if (err instanceof KoineError && err.code === ErrorCode.Unauthenticated) throw new OzoneError("UNAUTHORIZED", err.message);
      throw err;
    }
  }
  if (!value.startsWith("OZONE")) throw new OzoneError("BAD_AUTHORIZATION");
  const name = value.replace("OZONE", "").toLowerCase().trim();
  if (name === "") return anonymous(facts);
  if (ctx.auth !== "simple") {
    throw new OzoneError(
      "UNAUTHORIZED",
      `"OZONE ${name}" names a user without proof, and SIMPLE authentication is off (KOINE_OZONE_AUTH=koine): sign with a koine key (HTTP Basic or SigV4)`,
    );
  }
  // SIMPLE mode's named user, as Ozone has it: unlike Alluxio's (namedUser), Ozone's own admins are admins.
  return { user: name, anonymous: false, groups: ctx.groups.get(name) ?? [], admin: ctx.admins.has(name), ...facts };
}

/** The `x-ozone-user` header (lower-cased, trimmed), or 400 badAuthorization when sent twice. */
export function onBehalfOf(req: FastifyRequest): string | undefined {
  const values = headerValues(req, "x-ozone-user");
  if (values.length > 1) throw new OzoneError("BAD_AUTHORIZATION");
  return values[0]?.toLowerCase().trim();
}

/**
 * `max-keys` (default 1000, at most 1024), as Ozone checks it: out of
 * range is the call's "bad argument" error with Ozone's words.
 */
export function maxKeysOf(req: FastifyRequest, kind: CallKind): number {
  const text = query(req)["max-keys"];
  if (text === undefined) return 1000;
  const value = /^[+-]?\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (Number.isNaN(value)) throw badArgument(kind, `For input string: "${text}"`);
  if (value <= 0 || value > 1024) {
    throw badArgument(kind, `Illegal max number of keys specified, the value must be in range (0, 1024], actual : ${value}.`);
  }
  return value;
}

/**
 * Answers errors Node's HTTP parser finds before a handler runs as Ozone's
 * JSON errors: a body cut short (the client closed its side before sending
 * Content-Length bytes) is Ozone's incompleteBody, anything else a bad request.
 */
export function ozoneClientErrorHandler(err: Error & { code?: string }, socket: import("node:net").Socket): void {
  if (!socket.writable) return;
  const error =
    err.code === "HPE_INVALID_EOF_STATE"
      ? new OzoneError("INCOMPLETE_BODY", "Body length mismatch: the client closed the request before sending Content-Length bytes")
      : new OzoneError("INVALID_REQUEST", `The request cannot be parsed (${err.code ?? err.message})`);
  const name = serverName();
  const requestId = randomUUID();
  const body = error.body(requestId, name);
  socket.end(
    `HTTP/1.1 ${error.status} Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-ozone-request-id: ${requestId}\r\nx-ozone-server-name: ${name}\r\nDate: ${formatOzoneDate(new Date())}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The reply headers of every Ozone answer: a fresh request id, the server's name, the date. */
function replyHeaders(ctx: OzoneContext, reply: FastifyReply, requestId: string): FastifyReply {
  return reply
    .header("x-ozone-request-id", requestId)
    .header("x-ozone-server-name", ctx.serverName)
    .header("date", formatOzoneDate(new Date()));
}

/** A JSON body as Ozone writes its success bodies (Jackson, pretty). */
export function sendJson(reply: FastifyReply, value: unknown, contentType = "application/json"): FastifyReply {
  // A buffer: fastify adds a charset to the content type of a string, which Ozone's replies do not have.
  return reply.header("content-type", contentType).send(Buffer.from(jacksonPretty(value)));
}

/** What an operation answers for an error of the namespace, in Ozone's words (`<Op> failed, error:<STATUS>`). */
export interface Failure {
  /** Ozone's name of the operation ("Create key", "Info Bucket", ...). */
  op: string;
  /** What is missing when NOT_FOUND: the key, the bucket or the volume. */
  missing: "KEY" | "BUCKET" | "VOLUME";
  resource: string | null;
}

/** The Ozone error for anything thrown: the one place koine codes become Ozone's table rows. */
export function toOzoneError(err: unknown, failure: Failure): OzoneError {
  if (err instanceof OzoneError) return err;
  if (!(err instanceof KoineError)) return new OzoneError("SERVER_ERROR", undefined, failure.resource);
  const said = (status: string) => `${failure.op} failed, error:${status}`;
  switch (err.code) {
    case ErrorCode.NotFound:
      if (failure.missing === "KEY") return new OzoneError("INVALID_KEY", said("KEY_NOT_FOUND"), failure.resource);
      if (failure.missing === "BUCKET") return new OzoneError("INVALID_BUCKET_NAME", said("BUCKET_NOT_FOUND"), failure.resource);
      return new OzoneError("VOLUME_NOT_FOUND", said("VOLUME_NOT_FOUND"), failure.resource);
    case ErrorCode.PermissionDenied:
      return new OzoneError("ACCESS_DENIED", undefined, failure.resource);
    case ErrorCode.Unauthenticated:
      return new OzoneError("UNAUTHORIZED", err.message, failure.resource);
    case ErrorCode.QuotaExceeded:
      return new OzoneError("ACCESS_DENIED", `${said("QUOTA_EXCEEDED")}: ${err.message}`, failure.resource);
    case ErrorCode.AlreadyExists:
    case ErrorCode.NotADirectory:
    case ErrorCode.IsADirectory:
      return new OzoneError("KEY_OPERATION_CONFLICT", `${said("KEY_ALREADY_EXISTS")}: ${err.message}`, failure.resource);
    case ErrorCode.NotEmpty:
      return new OzoneError(failure.missing === "VOLUME" ? "VOLUME_NOT_EMPTY" : "BUCKET_NOT_EMPTY", undefined, failure.resource);
    case ErrorCode.InvalidArgument:
    case ErrorCode.NotImplemented:
    case ErrorCode.FailedPrecondition:
    case ErrorCode.ConditionNotMet:
      return new OzoneError("INVALID_REQUEST", err.message, failure.resource);
    default:
      return new OzoneError("SERVER_ERROR", `${said("INTERNAL_ERROR")}: ${err.message}`, failure.resource);
  }
}

/**
 * A route handler: names its operation in the metrics, answers with
 * Ozone's reply headers, and answers whatever it throws as Ozone's
 * six-field error.
 */
export function handler(
  ctx: OzoneContext,
  operation: string,
  failure: (req: FastifyRequest) => Failure,
  run: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    nameOperation(req.raw, operation);
    const requestId = randomUUID();
    replyHeaders(ctx, reply, requestId);
    try {
      return await run(req, reply);
    } catch (err) {
      const e = toOzoneError(err, failure(req));
      if (e.status >= 500) req.log.error({ err }, "internal error");
      if (reply.sent) {
        reply.raw.destroy();
        return reply;
      }
      return reply
        .code(e.status)
        .header("content-type", "application/json")
        .send(Buffer.from(e.body(requestId, ctx.serverName)));
    }
  };
}

export function may(ctx: OzoneContext, principal: Principal, action: Action, path: string): Promise<void> {
  return ctx.client.authorize(principal, action, path);
}

/** A volume (top-level directory), or 404 volumeNotFound in OM's words for `op`. */
export async function volumeAt(ctx: OzoneContext, volume: string, op: string): Promise<FileInfo> {
  const info = await ctx.client.find(`/${volume}`);
  if (info?.type !== "directory") throw new OzoneError("VOLUME_NOT_FOUND", `${op} failed, error:VOLUME_NOT_FOUND`, volume);
  return info;
}

/** A bucket (a directory in a volume), or the volume's 404, or 400 invalidBucketName with OM's BUCKET_NOT_FOUND. */
export async function bucketAt(ctx: OzoneContext, volume: string, bucket: string, op: string): Promise<FileInfo> {
  const info = await ctx.client.find(`/${volume}/${bucket}`);
  if (info?.type === "directory") return info;
  await volumeAt(ctx, volume, op);
  throw new OzoneError("INVALID_BUCKET_NAME", `${op} failed, error:BUCKET_NOT_FOUND`, `${volume}/${bucket}`);
}
