import type { AddressInfo } from "node:net";
import { type Action, type BearerTokens, type Identities, type Principal, principalOf, sameText } from "@koine/access";
import type { FileSystemClient } from "@koine/client";
import { jsonBodies, streamedBodies } from "@koine/frontend";
import { nameOperation } from "@koine/metrics";
import { ErrorCode, type FileInfo, KoineError } from "@koine/protocol";
import { authenticateHttp } from "@koine/s3";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { pack } from "msgpackr";
import { AisError, type AisTarget, sendAisError, toAisError } from "./errors.ts";

export interface AisPluginOptions {
  client: FileSystemClient;
  /** The users requests are made by: bearer tokens (below), or HTTP Basic / SigV4 with a koine key. */
  identities: Identities;
  /** Issues and checks the bearer tokens of `POST /v1/users/{name}` (AIS AuthN's login). */
  tokens: BearerTokens;
}

/** AIS's limit on a page of a listing. */
const MAX_PAGE_SIZE = 10_000;
/** The entry flag of an object present in the cluster (SDK `is_cached()`). */
const ENTRY_IS_CACHED = 1 << 6;
/** This gateway's id in error texts and the cluster map. */
const NODE_ID = "p[koine]";

type ActionMsg = { action?: unknown; name?: unknown; value?: unknown };

/** An AIS bucket name: letters, digits, "-", "_" and "." (one path segment). */
function bucketName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(name) || name === "." || name === "..") throw new AisError(400, `invalid bucket name "${name}"`);
  return name;
}

/** Only koine's own buckets (provider ais) for now; remote providers come with mounted under-stores. */
function checkProvider(req: FastifyRequest): void {
  const provider = (req.query as Record<string, string | undefined>).provider;
  if (provider !== undefined && provider !== "" && provider !== "ais") {
    throw new AisError(501, `provider "${provider}" is not implemented: koine serves ais:// buckets`);
  }
}

function actionOf(body: unknown): ActionMsg {
  return body && typeof body === "object" && !Array.isArray(body) ? (body as ActionMsg) : {};
}

/** Bodies fastify leaves unread (GET's): an ActionMsg the SDK sends with a list. */
const MAX_ACTION_BYTES = 1024 * 1024;

/** The request's ActionMsg: the body fastify parsed, or a GET's body read here. */
async function actionMsgOf(req: FastifyRequest): Promise<ActionMsg> {
  if (req.method !== "GET") return actionOf(req.body);
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

/** The object properties AIS sends with HEAD and GET. */
function objectHeaders(reply: FastifyReply, info: FileInfo, bucket: string): void {
  reply
    .header("ais-atime", String(Math.round(info.mtimeMs * 1e6)))
    .header("ais-version", "1")
    .header("ais-name", info.name)
    .header("ais-bucket-name", bucket)
    .header("ais-bucket-provider", "ais")
    .header("ais-present", "true")
    .header("ais-location", "t[koine]:")
    .header("etag", `"${info.etag}"`)
    .header("last-modified", new Date(info.mtimeMs).toUTCString());
}

/**
 * The AIStore HTTP API (`/v1/buckets`, `/v1/objects`, `/v1/health`,
 * `/v1/daemon`, `/v1/cluster`, and AuthN's login at `/v1/users/{name}`),
 * over the shared client and the one permission model. The gateway serves
 * objects itself for now (the target role of cache nodes, with AIS's
 * redirects, is the next step): docs/ais-compatibility.md.
 */
export const aisPlugin: FastifyPluginAsync<AisPluginOptions> = async (app, options) => {
  const { client, identities, tokens } = options;

  /** Who asks: an AIS bearer token, or koine credentials (Basic, SigV4), or nobody. */
  const callerOf = (req: FastifyRequest): Principal => {
    const header = req.headers.authorization;
    if (header?.startsWith("Bearer ")) {
      const accessKey = tokens.verify(header.slice(7).trim());
      const user = accessKey === undefined ? undefined : identities.userOf(accessKey);
      if (!user) throw new AisError(401, "invalid or expired token");
      return principalOf(user, { sourceIp: req.ip, secureTransport: req.protocol === "https" });
    }
    try {
      return authenticateHttp(req, identities, "koine");
    } catch (err) {
      if (err instanceof KoineError && err.code === ErrorCode.Unauthenticated) throw new AisError(401, err.message);
      throw err;
    }
  };
  const may = (principal: Principal, action: Action, path: string) => client.authorize(principal, action, path);

  const handle =
    (operation: string, target: (req: FastifyRequest) => AisTarget, run: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
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
        return sendAisError(req, reply, e, NODE_ID);
      }
    };
  const params = (req: FastifyRequest) => req.params as { bucket?: string; "*"?: string };
  const bucketTarget = (req: FastifyRequest): AisTarget =>
    params(req).bucket === undefined ? {} : { bucket: params(req).bucket as string };
  const objectTarget = (req: FastifyRequest): AisTarget => ({ bucket: params(req).bucket as string, object: params(req)["*"] as string });

  // Every other AIS path answers in AIS's shape.
  app.all("/v1/*", async (req, reply) => {
    nameOperation(req.raw, "not implemented");
    return sendAisError(req, reply, new AisError(501, `${req.method} ${(req.raw.url ?? "").split("?")[0]} is not implemented`), NODE_ID);
  });

  app.get("/v1/health", async (req, reply) => {
    nameOperation(req.raw, "health");
    const readiness = (req.query as Record<string, string>).prr === "true";
    if (readiness && (client.membership.members().length === 0 || client.mounts().length === 0)) {
      return sendAisError(req, reply, new AisError(503, "cluster is not ready: no metadata or no target yet"), NODE_ID);
    }
    const uptime = String(Math.round(process.uptime() * 1e9));
    return reply.header("ais-cluster-uptime", uptime).header("ais-node-uptime", uptime).send();
  });

  /** The cluster map: this gateway as the proxy; no node serves AIS objects itself yet, so no target. */
  const smap = (req: FastifyRequest) => {
    const address = req.socket.localAddress ?? "127.0.0.1";
    const port = String((req.socket.address() as AddressInfo).port);
    const self = {
      public_net: { node_ip_addr: address.replace(/^::ffff:/, ""), daemon_port: port, direct_url: `${req.protocol}://${req.host}` },
      daemon_type: "proxy",
      daemon_id: NODE_ID,
      flags: 0,
    };
    return { pmap: { [NODE_ID]: self }, tmap: {}, proxy_si: self, uuid: "koine", creation_time: "", version: "1" };
  };
  for (const resource of ["daemon", "cluster"] as const) {
    app.get(
      `/v1/${resource}`,
      handle(
        `${resource} info`,
        () => ({}),
        async (req, reply) => {
          const what = (req.query as Record<string, string>).what;
          if (what === "smap") return reply.send(smap(req));
          throw new AisError(501, `${resource}?what=${what} is not implemented`);
        },
      ),
    );
  }

  // AuthN's login, as the SDK's AuthNClient sends it: POST /v1/users/{name} {"password"} -> {"token"}.
  app.post(
    "/v1/users/:name",
    handle(
      "login",
      () => ({}),
      async (req, reply) => {
        const name = (req.params as { name: string }).name;
        const { password, expires_in } = (req.body ?? {}) as { password?: unknown; expires_in?: unknown };
        const secret = identities.secretOf(name);
        if (typeof password !== "string" || secret === undefined || !sameText(secret, password)) {
          throw new AisError(401, "invalid credentials");
        }
        const seconds = typeof expires_in === "number" && expires_in > 0 ? expires_in : undefined;
        return reply.send({ token: tokens.issue(name, seconds === undefined ? undefined : seconds * 1000) });
      },
    ),
  );

  // Buckets: list (buckets, or a bucket's objects), create, destroy, HEAD.
  const listBuckets = async (principal: Principal, reply: FastifyReply) => {
    if (principal.anonymous) throw new AisError(401, "listing buckets needs credentials");
    const found: { name: string; provider: string; namespace: { uuid: string; name: string } }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await client.list("/", { limit: 1000, ...(after === undefined ? {} : { after }) });
      for (const e of page.entries) {
        if (e.type === "directory" && (principal.admin || e.owner === principal.user)) {
          found.push({ name: e.name, provider: "ais", namespace: { uuid: "", name: "" } });
        }
      }
      if (!page.truncated) break;
      after = page.entries[page.entries.length - 1]?.name;
    }
    return reply.send(found);
  };

  const listObjects = async (
    req: FastifyRequest,
    reply: FastifyReply,
    bucket: string,
    value: Record<string, unknown>,
    principal: Principal,
  ) => {
    const prefix = typeof value.prefix === "string" ? value.prefix : "";
    await may(principal, "s3:ListBucket", `/${bucket}`);
    const pageSize = Math.min(Number(value.pagesize ?? 0) || MAX_PAGE_SIZE, MAX_PAGE_SIZE);
    // The next page starts after the last name sent (the token); the first, after start_after when given.
    const token =
      typeof value.continuation_token === "string" && value.continuation_token !== ""
        ? value.continuation_token
        : typeof value.start_after === "string"
          ? value.start_after
          : "";
    const page = await client.listKeys(bucket, { prefix, delimiter: "", startAfter: token, maxKeys: Math.min(pageSize, 1000) });
    const next = page.truncated ? page.last : "";
    const uuid = typeof value.uuid === "string" && value.uuid !== "" ? value.uuid : `lso-${Date.now().toString(36)}`;
    const accept = String(req.headers.accept ?? "");
    if (accept.includes("msgpack")) {
      const entries = page.keys.map((k) => ({ n: k.key, s: k.size, a: new Date(k.mtimeMs).toISOString(), v: "1", f: ENTRY_IS_CACHED }));
      return reply
        .header("content-type", "application/msgpack")
        .send(pack({ UUID: uuid, ContinuationToken: next, Entries: entries, Flags: 0 }));
    }
    const entries = page.keys.map((k) => ({
      name: k.key,
      size: String(k.size),
      atime: new Date(k.mtimeMs).toISOString(),
      version: "1",
      flags: ENTRY_IS_CACHED,
    }));
    return reply.send({ uuid, continuation_token: next, flags: 0, entries });
  };

  await app.register(async (json: FastifyInstance) => {
    // ActionMsg bodies are JSON whatever their content type says (the SDK sends them on GET and DELETE too).
    jsonBodies(json, { bodyLimit: MAX_ACTION_BYTES, invalid: () => new AisError(400, "the request body is not JSON") });
    // What fastify meets before a handler (a body too large, not JSON) is the client's error.
    json.setErrorHandler((err, req, reply) =>
      sendAisError(req, reply, err instanceof AisError ? err : new AisError(400, (err as Error).message), NODE_ID),
    );

    json.get(
      "/v1/buckets",
      handle(
        "list buckets",
        () => ({}),
        async (req, reply) => {
          checkProvider(req);
          return listBuckets(callerOf(req), reply);
        },
      ),
    );
    json.get(
      "/v1/buckets/:bucket",
      { exposeHeadRoute: false },
      handle("list", bucketTarget, async (req, reply) => {
        checkProvider(req);
        const bucket = bucketName(params(req).bucket as string);
        const msg = await actionMsgOf(req);
        if (msg.action !== undefined && msg.action !== "list")
          throw new AisError(501, `bucket action "${String(msg.action)}" is not implemented`);
        const principal = callerOf(req);
        // A list with no value lists buckets, whatever the path says (AIS's rule); with one, the bucket's objects.
        if (msg.action === "list" && (msg.value === null || msg.value === undefined)) return listBuckets(principal, reply);
        if (!(await client.find(`/${bucket}`))) throw new KoineError(ErrorCode.NotFound, `no bucket ${bucket}`);
        return listObjects(req, reply, bucket, actionOf(msg.value) as Record<string, unknown>, principal);
      }),
    );
    json.post(
      "/v1/buckets/:bucket",
      handle("bucket action", bucketTarget, async (req, reply) => {
        checkProvider(req);
        const bucket = bucketName(params(req).bucket as string);
        const msg = actionOf(req.body);
        if (msg.action !== "create-bck" && msg.action !== "createlb") {
          throw new AisError(501, `bucket action "${String(msg.action)}" is not implemented`);
        }
        const principal = callerOf(req);
        await may(principal, "s3:CreateBucket", `/${bucket}`);
        await client.mkdir(`/${bucket}`, { exclusive: true, owner: principal.user, group: principal.groups[0] ?? "", mode: 0o700 });
        return reply.send();
      }),
    );
    json.delete(
      "/v1/buckets/:bucket",
      handle("bucket delete", bucketTarget, async (req, reply) => {
        checkProvider(req);
        const bucket = bucketName(params(req).bucket as string);
        const msg = actionOf(req.body);
        if (msg.action !== undefined && msg.action !== "destroy-bck" && msg.action !== "destroylb") {
          throw new AisError(501, `bucket action "${String(msg.action)}" is not implemented`);
        }
        const principal = callerOf(req);
        if (!(await client.find(`/${bucket}`))) throw new KoineError(ErrorCode.NotFound, `no bucket ${bucket}`);
        await may(principal, "s3:DeleteBucket", `/${bucket}`);
        // AIS destroys a bucket with what is in it.
        await client.delete(`/${bucket}`, { recursive: true });
        return reply.send();
      }),
    );
    json.head(
      "/v1/buckets/:bucket",
      handle("head bucket", bucketTarget, async (req, reply) => {
        checkProvider(req);
        const bucket = bucketName(params(req).bucket as string);
        const principal = callerOf(req);
        const info = await client.find(`/${bucket}`);
        if (info?.type !== "directory") throw new KoineError(ErrorCode.NotFound, `no bucket ${bucket}`);
        await may(principal, "s3:ListBucket", `/${bucket}`);
        const props = {
          provider: "ais",
          checksum: { type: "none" },
          versioning: { enabled: false },
          access: "0",
          bid: String(info.id),
          created: String(Math.round(info.createdMs * 1e6)),
        };
        return reply.header("ais-bucket-props", JSON.stringify(props)).send();
      }),
    );
  });

  // Objects: bytes as they come (the SDK says application/json for every body), streamed.
  await app.register(async (raw: FastifyInstance) => {
    streamedBodies(raw);
    const objectPath = (req: FastifyRequest) => {
      checkProvider(req);
      const bucket = bucketName(params(req).bucket as string);
      const object = params(req)["*"] as string;
      if (object === "" || object.split("/").some((s) => s === "" || s === "." || s === "..")) {
        throw new AisError(400, `invalid object name "${object}"`);
      }
      return { bucket, object, path: `/${bucket}/${object}` };
    };
    const fileAt = async (bucket: string, object: string, path: string): Promise<FileInfo> => {
      const info = await client.find(path);
      if (info?.type === "file") return info;
      if (!(await client.find(`/${bucket}`))) throw new AisError(404, `bucket "ais://${bucket}" does not exist`);
      throw new AisError(404, `ais://${bucket}/${object} does not exist`);
    };

    raw.get(
      "/v1/objects/:bucket/*",
      { exposeHeadRoute: false },
      handle("get object", objectTarget, async (req, reply) => {
        const { bucket, object, path } = objectPath(req);
        await may(callerOf(req), "s3:GetObject", path);
        const info = await fileAt(bucket, object, path);
        objectHeaders(reply, info, bucket);
        reply.header("accept-ranges", "bytes").header("content-type", "application/octet-stream");
        const range = req.headers.range;
        if (range === undefined) {
          return reply.header("content-length", info.size).send(await client.read(info));
        }
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
      }),
    );
    raw.put(
      "/v1/objects/:bucket/*",
      handle("put object", objectTarget, async (req, reply) => {
        const { bucket, path } = objectPath(req);
        const query = req.query as Record<string, string | undefined>;
        if (query.append_type !== undefined) throw new AisError(501, "append and flush are not implemented yet");
        const principal = callerOf(req);
        if (!(await client.find(`/${bucket}`))) throw new AisError(404, `bucket "ais://${bucket}" does not exist`);
        await may(principal, "s3:PutObject", path);
        const length = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
        const info = await client.writeFile(path, req.raw as unknown as AsyncIterable<Uint8Array>, {
          attributes: { owner: principal.user, group: principal.groups[0] ?? "", mode: 0o600, contentType: "application/octet-stream" },
          createParents: true,
          ...(length === undefined || Number.isNaN(length) ? {} : { sizeHint: length }),
        });
        objectHeaders(reply, info, bucket);
        return reply.send();
      }),
    );
    raw.head(
      "/v1/objects/:bucket/*",
      handle("head object", objectTarget, async (req, reply) => {
        const { bucket, object, path } = objectPath(req);
        await may(callerOf(req), "s3:GetObject", path);
        const info = await fileAt(bucket, object, path);
        objectHeaders(reply, info, bucket);
        return reply.header("content-length", info.size).send();
      }),
    );
    raw.delete(
      "/v1/objects/:bucket/*",
      handle("delete object", objectTarget, async (req, reply) => {
        const { bucket, object, path } = objectPath(req);
        const principal = callerOf(req);
        await fileAt(bucket, object, path);
        await may(principal, "s3:DeleteObject", path);
        await client.delete(path, { fileOnly: true, pruneImplicitParents: true });
        return reply.send();
      }),
    );
  });
};
