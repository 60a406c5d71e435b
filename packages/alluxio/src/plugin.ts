import { TypeBoxValidatorCompiler } from "@fastify/type-provider-typebox";
import type { Action, Identities, Principal } from "@koine/access";
import { type FileSystemClient, READ_TYPES, type ReadType, type SyncOptions, WRITE_TYPES, type WriteType } from "@koine/client";
import { jsonBodies, streamedBodies } from "@koine/frontend";
import { nameOperation } from "@koine/metrics";
import {
  canonicalPath,
  type FileAttributes,
  type FileInfo,
  isObjectAt,
  type LoadMetadata,
  parentPath,
  type TtlAction,
} from "@koine/protocol";
import { type AuthMode, authenticateHttp } from "@koine/s3";
import { Type as T } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { AlluxioError, toAlluxioError } from "./errors.ts";
import { modeOf, uriStatus } from "./status.ts";
import { type StreamLimits, Streams } from "./streams.ts";

export interface AlluxioPluginOptions {
  client: FileSystemClient;
  /** The users requests are made by (HTTP Basic or SigV4 with a koine key). */
  identities: Identities;
  /** "simple": also a user the client names, as Alluxio's SIMPLE authentication. @default "koine" */
  authMode?: AuthMode;
  /** How long idle streams live, and how many may be open. */
  streams?: StreamLimits;
  /** The user shown for paths no user owns. @default "alluxio" */
  owner?: string;
}

/** Alluxio's default modes (umask 022): what a user creates is readable by every signed-in user. */
const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIRECTORY_MODE = 0o755;

/** Whether `path` is a top-level directory (an S3 bucket). */
const isTopLevel = (path: string) => path.lastIndexOf("/") === 0 && path.length > 1;

/** The owner, group and mode of what `principal` creates through this API. */
function ownership(principal: Principal, mode: number | undefined, fallback: number) {
  return { owner: principal.user, group: principal.groups[0] ?? "", mode: mode ?? fallback };
}

const PATH_OPS = [
  "create-directory",
  "create-file",
  "delete",
  "download-file",
  "exists",
  "free",
  "get-status",
  "list-status",
  "mount",
  "open-file",
  "rename",
  "set-attribute",
  "unmount",
] as const;
type PathOp = (typeof PATH_OPS)[number];
const PATH_ROUTE = new RegExp(`^/api/v1/paths/(.*)/(${PATH_OPS.join("|")})$`);
const MAX_OPTIONS_BYTES = 1024 * 1024;
/** A time to live that a clock can still add to now: about a thousand years. */
const MAX_TTL_MS = 1000 * 365 * 86_400_000;
/** Owner and group names, as a POSIX user name may be long. */
const MAX_NAME_LENGTH = 256;
/** As Alluxio's alluxio.user.file.writetype.default. */
const DEFAULT_WRITE_TYPE: WriteType = "CACHE_THROUGH";

type Options = Record<string, unknown>;

/**
 * The route schema of an operation's options: a JSON object (each operation
 * reads the fields it knows, as Alluxio's Jackson ignores the others), or
 * no body, or null.
 */
const OptionsBody = T.Union([T.Record(T.String(), T.Unknown()), T.Null()]);

/** Options of a request: its JSON object, or defaults for a missing, empty or null body (checked by the route's schema). */
function optionsOf(req: FastifyRequest): Options {
  return (req.body ?? {}) as Options;
}

/**
 * The path a percent-encoded URL path segment names (decoded once, as
 * Jersey decodes it), with its trailing "/" if it has one: that names the
 * S3 folder object "dir/" to the calls that read an object.
 */
function askedPath(raw: string): string {
  try {
    return `/${decodeURIComponent(raw).replace(/^\/+/, "")}`;
  } catch {
    throw new AlluxioError("INVALID_ARGUMENT", `Invalid path ${raw}`);
  }
}

/**
 * "/foo", "//foo", "foo/", "" (root), already decoded: the namespace path a
 * client meant. Inner "//", "." and ".." are names, as in S3 keys; one
 * trailing "/" is dropped ("/b/a//" stays: the directory "" in a).
 */
function clientPath(path: string): string {
  return canonicalPath(`/${path.replace(/^\/+/, "")}`);
}

function json(reply: FastifyReply, value: unknown): FastifyReply {
  // Exactly application/json: alluxio-go refuses parameters such as charset, and
  // fastify adds one to strings, so the body goes as a Buffer.
  return reply
    .code(200)
    .header("content-type", "application/json")
    .send(Buffer.from(value === undefined ? "" : JSON.stringify(value)));
}

function unimplemented(what: string): never {
  throw new AlluxioError("UNIMPLEMENTED", `${what} is not implemented yet`);
}

/** An enum option: its value when one of `allowed`, undefined when absent, INVALID_ARGUMENT otherwise. */
function oneOf<T extends string>(o: Options, key: string, allowed: readonly T[]): T | undefined {
  const value = o[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new AlluxioError("INVALID_ARGUMENT", `${key} must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
}

/** An option given at the top level (what alluxio-py and alluxio-go send) or in commonOptions (the 2.x proto). */
function common(o: Options, key: string): unknown {
  const nested = o.commonOptions;
  if (o[key] !== undefined) return o[key];
  return nested && typeof nested === "object" ? (nested as Options)[key] : undefined;
}

/** ttl (ms, -1: none) and ttlAction, as attributes. */
function ttlOf(o: Options): Pick<FileAttributes, "ttlMs" | "ttlAction"> {
  const ttl = common(o, "ttl");
  const action = oneOf<TtlAction>({ ttlAction: common(o, "ttlAction") }, "ttlAction", ["DELETE", "FREE"]);
  if (ttl === undefined || ttl === null) return action ? { ttlAction: action } : {};
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < -1 || ttl > MAX_TTL_MS)
    throw new AlluxioError("INVALID_ARGUMENT", `ttl must be a whole number of ms up to ${MAX_TTL_MS}, or -1`);
  return { ttlMs: ttl, ...(action ? { ttlAction: action } : {}) };
}

/** An owner or group option: absent, or a name of 1 to MAX_NAME_LENGTH characters without control characters. */
function userName(o: Options, key: "owner" | "group"): { owner?: string; group?: string } {
  const value = o[key];
  if (value === undefined || value === null) return {};
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (typeof value !== "string" || value === "" || value.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new AlluxioError("INVALID_ARGUMENT", `${key} must be a name of 1 to ${MAX_NAME_LENGTH} characters`);
  }
  return { [key]: value };
}

/** loadMetadataType and commonOptions.syncIntervalMs, as sync options. */
function syncOf(o: Options): SyncOptions {
  const loadMetadata = oneOf<LoadMetadata>(o, "loadMetadataType", ["NEVER", "ONCE", "ALWAYS"]);
  const interval = common(o, "syncIntervalMs");
  if (interval !== undefined && (typeof interval !== "number" || !Number.isSafeInteger(interval) || interval < -1)) {
    throw new AlluxioError("INVALID_ARGUMENT", "syncIntervalMs must be an integer of ms, or -1");
  }
  return {
    ...(loadMetadata ? { loadMetadata } : {}),
    ...(typeof interval === "number" ? { syncIntervalMs: interval } : {}),
  };
}

/**
 * The Alluxio 2.x proxy REST API: `/api/v1/paths/{path}/{op}` and
 * `/api/v1/streams/{id}/{op}`, over the shared file-system client.
 */
export const alluxioPlugin: FastifyPluginAsync<AlluxioPluginOptions> = async (app, options) => {
  const { client, identities } = options;
  const authMode = options.authMode ?? "koine";
  const shownOwner = options.owner ?? "alluxio";
  const streams = new Streams(options.streams);
  app.addHook("onClose", async () => streams.stop());
  // Options are JSON whatever their content type (1 MiB at most); a stream write's bytes are the handler's to read.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  jsonBodies(app, {
    bodyLimit: MAX_OPTIONS_BYTES,
    nullIsEmpty: true,
    invalid: () => new AlluxioError("INVALID_ARGUMENT", "The options body is not a JSON object"),
  });

  const status = (info: FileInfo) => uriStatus(info.owner ? info : { ...info, owner: shownOwner }, client.mounts());

  const principalOf = (req: FastifyRequest) => authenticateHttp(req, identities, authMode);

  /** `asked` is the path as the URL gave it, a trailing "/" kept: the object "dir/" to reads. */
  const pathOperation = async (op: PathOp, asked: string, req: FastifyRequest, reply: FastifyReply) => {
    const path = canonicalPath(asked);
    const query = new URLSearchParams((req.raw.url ?? "").split("?")[1] ?? "");
    const principal = principalOf(req);
    const may = (action: Action, on = path) => client.authorize(principal, action, on);
    if (op === "download-file") {
      await may("s3:GetObject", asked);
      const info = await client.stat(asked);
      if (!isObjectAt(info, asked)) throw new AlluxioError("INVALID_ARGUMENT", `Path "${path}" is a directory`);
      return reply
        .code(200)
        .header("content-type", "application/octet-stream")
        .header("content-disposition", `attachment; filename=${info.name}`)
        .header("content-length", info.size)
        .send(await client.read(info));
    }
    const o = optionsOf(req);
    switch (op) {
      case "create-directory": {
        await may(isTopLevel(path) ? "s3:CreateBucket" : "s3:PutObject");
        await client.mkdir(path, {
          recursive: o.recursive === true,
          exclusive: o.allowExists !== true,
          ...ownership(principal, modeOf(o.mode), DEFAULT_DIRECTORY_MODE),
        });
        return json(reply, undefined);
      }
      case "create-file": {
        const writeType = oneOf<WriteType>(o, "writeType", WRITE_TYPES) ?? DEFAULT_WRITE_TYPE;
        const ttl = ttlOf(o);
        await may("s3:PutObject");
        client.assertWritable(path);
        if (await client.find(path)) throw new AlluxioError("ALREADY_EXISTS", `Path "${path}" already exists`);
        const recursive = o.recursive === true;
        if (!recursive) {
          await client.stat(parentPath(path));
        }
        const attributes = { ...ownership(principal, modeOf(o.mode), DEFAULT_FILE_MODE), contentType: "application/octet-stream", ...ttl };
        const id = streams.openWrite(req.ip, principal.user, path, (body) =>
          client.writeFile(path, body, {
            attributes,
            createParents: recursive,
            writeType,
          }),
        );
        return json(reply, id);
      }
      case "delete":
        if (o.alluxioOnly === true) unimplemented("delete with alluxioOnly");
        await may(isTopLevel(path) ? "s3:DeleteBucket" : "s3:DeleteObject");
        await client.delete(path, { recursive: o.recursive === true });
        return json(reply, undefined);
      case "exists":
        await may("s3:GetObject");
        return json(reply, (await client.find(path, syncOf(o))) !== undefined);
      case "free": {
        await may("koine:FreeCache");
        const info = await client.stat(path);
        let files: FileInfo[] = [info];
        if (info.type === "directory") {
          if (o.recursive !== true) throw new AlluxioError("FAILED_PRECONDITION", `Cannot free directory "${path}" without recursive`);
          files = (await client.list(path, { recursive: true })).entries;
        }
        files = files.filter((f) => f.type === "file");
        const kept = files.find((f) => f.persistence !== "PERSISTED" || (f.pinned && o.forced !== true));
        if (kept) {
          const why = kept.persistence !== "PERSISTED" ? "it is not persisted" : "it is pinned";
          throw new AlluxioError("FAILED_PRECONDITION", `Cannot free "${kept.path}": ${why}`);
        }
        await client.freeCache(files.map((f) => f.contentId));
        return json(reply, undefined);
      }
      case "get-status":
        await may("s3:GetObject");
        return json(reply, status(await client.stat(path, syncOf(o))));
      case "list-status": {
        await may("s3:ListBucket");
        const sync = syncOf(o);
        const info = await client.stat(path, sync);
        if (info.type === "file") return json(reply, [status(info)]);
        const { entries } = await client.list(path, { recursive: o.recursive === true, ...sync });
        return json(reply, entries.map(status));
      }
      case "mount": {
        await may("koine:Admin");
        const src = query.get("src");
        if (!src) throw new AlluxioError("INVALID_ARGUMENT", "mount needs ?src=<under-store URI>");
        const properties: Record<string, string> = {};
        if (o.properties && typeof o.properties === "object") {
          for (const [k, v] of Object.entries(o.properties as Options)) properties[k] = String(v);
        }
        await client.mount(path, src, { readOnly: o.readOnly === true, properties });
        return json(reply, undefined);
      }
      case "unmount":
        await may("koine:Admin");
        await client.unmount(path);
        return json(reply, undefined);
      case "open-file": {
        const readType = oneOf<ReadType>(o, "readType", READ_TYPES) ?? "CACHE";
        await may("s3:GetObject", asked);
        if (!isObjectAt(await client.stat(asked), asked)) throw new AlluxioError("INVALID_ARGUMENT", `Path "${path}" is a directory`);
        return json(reply, streams.openRead(req.ip, principal.user, asked, readType));
      }
      case "rename": {
        const dst = query.get("dst");
        if (!dst) throw new AlluxioError("INVALID_ARGUMENT", "rename needs ?dst=");
        // A query parameter is decoded once already.
        const target = clientPath(dst);
        // The source is read and taken away, the destination written.
        await may("s3:GetObject");
        await may(isTopLevel(path) ? "s3:DeleteBucket" : "s3:DeleteObject");
        await may(isTopLevel(target) ? "s3:CreateBucket" : "s3:PutObject", target);
        await client.rename(path, target);
        return json(reply, undefined);
      }
      case "set-attribute": {
        if (o.persisted !== undefined) unimplemented("persisted in set-attribute");
        if (o.pinned !== undefined && typeof o.pinned !== "boolean")
          throw new AlluxioError("INVALID_ARGUMENT", "pinned must be true or false");
        const mode = modeOf(o.mode);
        const attributes: FileAttributes = {
          ...userName(o, "owner"),
          ...userName(o, "group"),
          ...(mode === undefined ? {} : { mode }),
          ...(typeof o.pinned === "boolean" ? { pinned: o.pinned } : {}),
          ...ttlOf(o),
        };
        const actions: Action[] = [
          // Asking for no change is decided as a change of plain attributes.
          ...(Object.keys(attributes).length === 0 ? (["koine:SetAttributes"] as const) : []),
          ...(attributes.owner === undefined ? [] : (["koine:SetOwner"] as const)),
          ...(attributes.group === undefined && attributes.mode === undefined ? [] : (["koine:SetPermissions"] as const)),
          ...(attributes.pinned === undefined && attributes.ttlMs === undefined && attributes.ttlAction === undefined
            ? []
            : (["koine:SetAttributes"] as const)),
        ];
        const setOn = async (on: string) => {
          for (const action of actions) await may(action, on);
          return client.setAttributes(on, attributes);
        };
        const info = await setOn(path);
        if (o.recursive === true && info.type === "directory") {
          for (const entry of (await client.list(path, { recursive: true })).entries) await setOn(entry.path);
        }
        return json(reply, undefined);
      }
    }
  };

  const fail = (reply: FastifyReply, err: unknown) => {
    const e = toAlluxioError(err);
    if (e.statusCode === "INTERNAL") reply.log.error({ err }, "internal error");
    // Alluxio answers every error with 500; a request without good credentials gets 401 and a Basic challenge, so curl and browsers ask.
    if (e.statusCode === "UNAUTHENTICATED") reply.code(401).header("www-authenticate", 'Basic realm="koine"');
    else reply.code(500);
    return reply
      .header("content-type", "application/json")
      .send(Buffer.from(JSON.stringify({ statusCode: e.statusCode, message: e.message })));
  };

  // Every error, the handlers' and fastify's (options too large, not JSON, not an object), as Alluxio answers them.
  app.setErrorHandler((err, _req, reply) => {
    const { code, validation } = err as { code?: string; validation?: unknown };
    if (code === "FST_ERR_CTP_BODY_TOO_LARGE") return fail(reply, new AlluxioError("INVALID_ARGUMENT", "The options body is too large"));
    if (validation) return fail(reply, new AlluxioError("INVALID_ARGUMENT", "The options body is not a JSON object"));
    return fail(reply, err);
  });

  /** A path operation: `/api/v1/paths/<path>/<op>`, download-file by GET, the others by POST. */
  const pathRoute = async (req: FastifyRequest, reply: FastifyReply) => {
    const rawPath = (req.raw.url ?? "").split("?")[0] as string;
    const m = PATH_ROUTE.exec(rawPath);
    if (!m) throw new AlluxioError("INVALID_ARGUMENT", `Unknown operation in ${rawPath}`);
    const op = m[2] as PathOp;
    nameOperation(req.raw, op);
    if ((op === "download-file") !== (req.method === "GET"))
      throw new AlluxioError("INVALID_ARGUMENT", `${op} takes ${op === "download-file" ? "GET" : "POST"}`);
    return pathOperation(op, askedPath(m[1] as string), req, reply);
  };
  app.get("/api/v1/paths/*", pathRoute);
  app.post("/api/v1/paths/*", { schema: { body: OptionsBody } }, pathRoute);

  const streamId = (text: string): number => {
    const id = Number(text);
    if (!Number.isInteger(id)) throw new AlluxioError("INVALID_ARGUMENT", `Invalid stream id ${text}`);
    return id;
  };
  // A write's body is the stream's bytes: not parsed, read by the handler as it arrives.
  await app.register(async (raw) => {
    streamedBodies(raw);
    raw.post("/api/v1/streams/:id/write", async (req, reply) => {
      nameOperation(req.raw, "streams/write");
      const entry = streams.get(streamId((req.params as { id: string }).id), "write", principalOf(req).user);
      let written = 0;
      for await (const chunk of req.raw as AsyncIterable<Buffer>) {
        written += chunk.length;
        if (!entry.sink.write(chunk)) await new Promise((resolve) => entry.sink.once("drain", resolve));
      }
      return json(reply, written);
    });
  });
  app.post("/api/v1/streams/:id/:op", { schema: { body: OptionsBody } }, async (req, reply) => {
    const { id: idText, op } = req.params as { id: string; op: string };
    if (op === "close" || op === "read") nameOperation(req.raw, `streams/${op}`);
    const id = streamId(idText);
    const { user } = principalOf(req);
    if (op === "close") {
      optionsOf(req);
      await streams.close(id, user);
      return json(reply, undefined);
    }
    if (op === "read") {
      const entry = streams.get(id, "read", user);
      const info = await client.stat(entry.path);
      const bytes = entry.consumed ? Buffer.alloc(0) : await client.read(info, 0, info.size, entry.readType);
      const length = entry.consumed ? 0 : info.size;
      entry.consumed = true;
      return reply.code(200).header("content-type", "application/octet-stream").header("content-length", length).send(bytes);
    }
    throw new AlluxioError("INVALID_ARGUMENT", `Unknown stream operation ${op}`);
  });
};
