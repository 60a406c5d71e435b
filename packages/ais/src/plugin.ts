import type { AddressInfo } from "node:net";
import { type BearerTokens, type ClusterKey, type Identities, type Principal, sameText } from "@koine/access";
import { Cluster, type FileSystemClient } from "@koine/client";
import { jsonBodies, streamedBodies } from "@koine/frontend";
import { nameOperation } from "@koine/metrics";
import { archiveFormatOf, ErrorCode, type FileInfo, KoineError } from "@koine/protocol";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { pack } from "msgpackr";
import {
  type AisContext,
  actionMsgOf,
  actionName,
  actionOf,
  type BucketRef,
  bucketAt,
  bucketName,
  bucketRefOf,
  bucketTarget,
  callerOf,
  handler,
  MAX_ACTION_BYTES,
  may,
  objectName,
  params,
  providerOf,
  s3BucketOf,
} from "./context.ts";
import { AisError, sendAisError } from "./errors.ts";
import { idDigest } from "./hrw.ts";
import { aisKindOf, jobSnap, jobStatus, selectObjects, startJob } from "./jobs.ts";
import { memCpu, type TargetStats, targetStats } from "./nodes.ts";
import { ENTRY_IS_CACHED, objectRoutes } from "./objects.ts";
import { bucketProps, merged, setPropsOf, withProps } from "./props.ts";
import { Redirects, targetsOf } from "./redirect.ts";
import { escapeRegExp } from "./templates.ts";

export interface AisPluginOptions {
  client: FileSystemClient;
  /** The users requests are made by: bearer tokens (below), or HTTP Basic / SigV4 with a koine key. */
  identities: Identities;
  /** Issues and checks the bearer tokens of `POST /v1/users/{name}` (AIS AuthN's login). */
  tokens: BearerTokens;
  /** Signs (a gateway) and checks (a target) redirects. */
  clusterKey: ClusterKey;
  /** Serve as the target of this cache node (its id): objects only. Absent: the gateway. */
  target?: string;
  /** A target's directories below which an admin may promote files of its host (KOINE_MOUNT_ROOTS). */
  localRoots?: readonly string[];
}

/** AIS's limit on a page of a listing. */
const MAX_PAGE_SIZE = 10_000;
/** The gateway's id in the cluster map and error texts. */
const GATEWAY_ID = "p[koine]";

/** A node's entry in the cluster map (Snode); `id_digest` is written exactly by {@link sendExact}. */
function snode(id: string, type: "proxy" | "target", url: string) {
  const u = new URL(url);
  const net = { node_ip_addr: u.hostname, daemon_port: u.port || (u.protocol === "https:" ? "443" : "80"), direct_url: u.origin };
  return {
    public_net: net,
    intra_control_net: net,
    intra_data_net: net,
    daemon_type: type,
    daemon_id: id,
    flags: 0,
    id_digest: idDigest(id),
  };
}

/** Sends JSON with BigInts as exact numbers (the id digests of nodes are above 2^53). */
function sendExact(reply: FastifyReply, value: unknown): FastifyReply {
  const text = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, "$1");
  return reply.header("content-type", "application/json").send(text);
}

/**
 * The AIStore HTTP API over the shared client and the one permission
 * model. The gateway (`/v1/buckets`, `/v1/objects`, `/v1/health`,
 * `/v1/daemon`, `/v1/cluster`, AuthN's login at `/v1/users/{name}`) sends
 * object requests on to the cache node that owns each object; a cache
 * node's target serves `/v1/objects` (docs/ais-compatibility.md).
 */
export const aisPlugin: FastifyPluginAsync<AisPluginOptions> = async (app, options) => {
  const { client, identities, tokens, target } = options;
  const ctx: AisContext = { client, identities, tokens, nodeId: target ?? GATEWAY_ID };
  const redirects = new Redirects(options.clusterKey, identities);
  const cluster = target === undefined ? await Cluster.open(client) : undefined;
  const jobs = () => cluster as Cluster;

  // Every other AIS path answers in AIS's shape.
  app.all("/v1/*", async (req, reply) => {
    nameOperation(req.raw, "not implemented");
    return sendAisError(req, reply, new AisError(501, `${req.method} ${(req.raw.url ?? "").split("?")[0]} is not implemented`), ctx.nodeId);
  });

  app.get("/v1/health", async (req, reply) => {
    nameOperation(req.raw, "health");
    const readiness = (req.query as Record<string, string>).prr === "true";
    if (readiness && (client.membership.members().length === 0 || client.mounts().length === 0)) {
      return sendAisError(req, reply, new AisError(503, "cluster is not ready: no metadata or no target yet"), ctx.nodeId);
    }
    const uptime = String(Math.round(process.uptime() * 1e9));
    return reply.header("ais-cluster-uptime", uptime).header("ais-node-uptime", uptime).send();
  });

  /** The cluster map: the gateway as the proxy, the cache nodes serving AIS as targets, at the URLs clients reach. */
  const smap = (req: FastifyRequest) => {
    const own = `${req.protocol}://${req.host}`;
    const port = (req.socket.address() as AddressInfo).port;
    const gateway = snode(GATEWAY_ID, "proxy", target === undefined ? own : `${req.protocol}://${req.hostname}:${port}`);
    const tmap: Record<string, unknown> = {};
    for (const [id, url] of targetsOf(client)) tmap[id] = snode(id, "target", url);
    const version = String(client.membership.members().length);
    return { pmap: { [GATEWAY_ID]: gateway }, tmap, proxy_si: gateway, uuid: "koine", creation_time: "", version };
  };

  const info = (resource: "daemon" | "cluster") =>
    handler(
      ctx,
      `${resource} info`,
      () => ({}),
      async (req, reply) => {
        const what = (req.query as Record<string, string>).what;
        if (what === "smap") return sendExact(reply, smap(req));
        if (what === "status" || what === "qryxstats" || what === "status_all" || what === "running_all") return jobsInfo(req, reply, what);
        const principal = callerOf(ctx, req);
        if (principal.anonymous) throw new AisError(401, `${resource}?what=${what} needs credentials`);
        if (what === "bmd") {
          const buckets: Record<string, unknown> = {};
          for (const b of await bucketsOf(principal)) buckets[b.name] = bucketProps(b.info);
          return reply.send({ buckets: { ais: { "": buckets } }, uuid: "koine", version: "1" });
        }
        const stats = await targetStats(client);
        if (what === "sysinfo") {
          // The gateway's host; a target's host is its own (its capacity here).
          if (resource === "daemon") return reply.send(memCpu());
          const targets: Record<string, unknown> = {};
          for (const n of stats) targets[n.id] = n.capacity;
          return reply.send({ proxy: { [GATEWAY_ID]: memCpu() }, target: targets });
        }
        if (what === "snode")
          return sendExact(reply, snode(ctx.nodeId, target === undefined ? "proxy" : "target", `${req.protocol}://${req.host}`));
        if (what === "node_status" || what === "stats") {
          const map = smap(req);
          const ofNode = (n: TargetStats) => ({
            snode: snode(n.id, "target", n.url),
            capacity: n.capacity,
            tracker: n.tracker ?? {},
            status: n.tracker ? "online" : "unreachable",
            deployment: "koine",
            ais_version: "koine",
            smap_version: map.version,
          });
          const proxy = { snode: map.proxy_si, status: "online", deployment: "koine", sys_info: memCpu() };
          if (resource === "daemon") {
            const own = stats.find((n) => n.id === target);
            return sendExact(reply, own ? ofNode(own) : proxy);
          }
          const targets: Record<string, unknown> = {};
          for (const n of stats) targets[n.id] = ofNode(n);
          return sendExact(reply, { proxy, target: targets });
        }
        if (what === "config" || what === "cluster_config") {
          return reply.send({
            backend: {},
            mirror: { enabled: false },
            ec: { enabled: false },
            checksum: { type: "xxhash2" },
            versioning: { enabled: true },
          });
        }
        throw new AisError(501, `${resource}?what=${what} is not implemented`);
      },
    );

  // Jobs: their status (the SDK's Job.wait), snapshots, and the running ones.
  const jobsInfo = async (req: FastifyRequest, reply: FastifyReply, what: string) => {
    if (!cluster) throw new AisError(501, "jobs are the gateway's");
    callerOf(ctx, req);
    const args = actionOf(await actionMsgOf(req)) as Record<string, unknown>;
    const id = typeof args.ID === "string" ? args.ID : typeof args.id === "string" ? args.id : "";
    if (what === "status") {
      const record = id === "" ? undefined : await cluster.jobs.get(id);
      if (!record) throw new AisError(404, `job "${id}" not found`);
      return reply.send(jobStatus(record));
    }
    const all = await cluster.jobs.list();
    const kind = typeof args.Kind === "string" ? args.Kind : typeof args.kind === "string" ? args.kind : "";
    const chosen = all.filter((r) => (id === "" || r.id === id) && (kind === "" || aisKindOf(r) === kind));
    if (what === "qryxstats") {
      if (id !== "" && chosen.length === 0) throw new AisError(404, `job "${id}" not found`);
      return reply.send({ "t[koine-jobs]": chosen.map(jobSnap) });
    }
    return reply.send(chosen.filter((r) => what === "status_all" || r.state === "RUNNING").map(jobStatus));
  };

  // AuthN's login, as the SDK's AuthNClient sends it: POST /v1/users/{name} {"password"} -> {"token"}.
  const login = handler(
    ctx,
    "login",
    () => ({}),
    async (req, reply) => {
      const name = (req.params as { name: string }).name;
      const { password, expires_in } = (req.body ?? {}) as { password?: unknown; expires_in?: unknown };
      const secret = identities.secretOf(name);
      if (typeof password !== "string" || secret === undefined || !sameText(secret, password))
        throw new AisError(401, "invalid credentials");
      const seconds = typeof expires_in === "number" && expires_in > 0 ? expires_in : undefined;
      return reply.send({ token: tokens.issue(name, seconds === undefined ? undefined : seconds * 1000) });
    },
  );

  /** The buckets a caller may see (an admin: all): koine's own, and the mounted S3 buckets. */
  const bucketsOf = async (principal: Principal, provider?: "ais" | "aws") => {
    const found: { name: string; provider: "ais" | "aws"; info: FileInfo }[] = [];
    const visible = (info: FileInfo) => principal.admin || info.owner === principal.user;
    const mounted = new Map(client.mounts().flatMap((m) => (s3BucketOf(m) ? [[m.path.slice(1), s3BucketOf(m) as string]] : [])));
    let after: string | undefined;
    for (;;) {
      const page = await client.list("/", { limit: 1000, ...(after === undefined ? {} : { after }) });
      for (const e of page.entries) {
        if (e.type !== "directory" || !visible(e)) continue;
        const s3 = mounted.get(e.name);
        if (s3 !== undefined) {
          if (provider !== "ais") found.push({ name: s3, provider: "aws", info: e });
        } else if (provider !== "aws") found.push({ name: e.name, provider: "ais", info: e });
      }
      if (!page.truncated) break;
      after = page.entries[page.entries.length - 1]?.name;
    }
    return found;
  };
  const listBuckets = async (req: FastifyRequest, principal: Principal, reply: FastifyReply) => {
    if (principal.anonymous) throw new AisError(401, "listing buckets needs credentials");
    const provider = (req.query as Record<string, string | undefined>).provider ? providerOf(req) : undefined;
    const found = await bucketsOf(principal, provider);
    return reply.send(found.map((b) => ({ name: b.name, provider: b.provider, namespace: { uuid: "", name: "" } })));
  };

  const listObjects = async (
    req: FastifyRequest,
    reply: FastifyReply,
    bucket: BucketRef,
    value: Record<string, unknown>,
    principal: Principal,
  ) => {
    const prefix = typeof value.prefix === "string" ? value.prefix : "";
    await may(ctx, principal, "s3:ListBucket", bucket.path);
    const pageSize = Math.min(Number(value.pagesize ?? 0) || MAX_PAGE_SIZE, MAX_PAGE_SIZE);
    // The next page starts after the last name sent (the token); the first, after start_after when given.
    const token =
      typeof value.continuation_token === "string" && value.continuation_token !== ""
        ? value.continuation_token
        : typeof value.start_after === "string"
          ? value.start_after
          : "";
    const page = await client.listKeys(bucket.path.slice(1), {
      prefix,
      delimiter: "",
      startAfter: token,
      maxKeys: Math.min(pageSize, 1000),
    });
    const next = page.truncated ? page.last : "";
    const uuid = typeof value.uuid === "string" && value.uuid !== "" ? value.uuid : `lso-${Date.now().toString(36)}`;
    // Names only (flags 16), or names and sizes (32): the rest is left out, as AIS does.
    const flags = Number(value.flags ?? 0) || 0;
    const props = new Set(
      typeof value.props === "string" && value.props !== "" ? value.props.split(",") : ["name", "size", "checksum", "atime"],
    );
    const nameOnly = (flags & 16) !== 0;
    const withSize = !nameOnly && (props.has("size") || (flags & 32) !== 0);
    const full = !nameOnly && (flags & 32) === 0;
    const entries = page.keys.map((k) => ({
      name: k.key,
      ...(withSize ? { size: k.size } : {}),
      ...(full && props.has("atime") ? { atime: new Date(k.mtimeMs).toISOString() } : {}),
      ...(full && props.has("version") ? { version: "1" } : {}),
      ...(full && props.has("checksum") ? { checksum: k.etag } : {}),
      ...(full && props.has("location") ? { location: "t[koine]:" } : {}),
      flags: ENTRY_IS_CACHED,
    }));
    if (String(req.headers.accept ?? "").includes("msgpack")) {
      const packed = entries.map((e) => ({
        n: e.name,
        ...(e.size === undefined ? {} : { s: e.size }),
        ...(e.atime === undefined ? {} : { a: e.atime }),
        ...(e.version === undefined ? {} : { v: e.version }),
        ...(e.checksum === undefined ? {} : { cs: e.checksum }),
        ...(e.location === undefined ? {} : { t: e.location }),
        f: e.flags,
      }));
      return reply
        .header("content-type", "application/msgpack")
        .send(pack({ UUID: uuid, ContinuationToken: next, Entries: packed, Flags: 0 }));
    }
    const json = entries.map((e) => ({ ...e, ...(e.size === undefined ? {} : { size: String(e.size) }) }));
    return reply.send({ uuid, continuation_token: next, flags: 0, entries: json });
  };

  /** The bucket a `bck_to` query names (`ais/@#/dst/`, or a plain name): a new ais bucket. */
  const destinationOf = (req: FastifyRequest, msg: { name?: unknown }): string => {
    const query = req.query as Record<string, string | undefined>;
    const raw = query.bck_to ?? (typeof msg.name === "string" ? msg.name : "");
    const m = /^(?:(?:ais)\/@[^/]*#[^/]*\/)?([^/]+)\/?$/.exec(raw);
    if (!m) throw new AisError(400, `invalid destination bucket "${raw}"`);
    return m[1] as string;
  };

  /** The caller owns the bucket (or is an admin): what a whole-bucket job needs. */
  const ownsBucket = (principal: Principal, info: FileInfo, bucket: BucketRef) => {
    if (!principal.admin && info.owner !== principal.user)
      throw new KoineError(ErrorCode.PermissionDenied, `only the owner of ${bucket.uname} may do that`);
  };

  if (target === undefined) {
    await app.register(async (json: FastifyInstance) => {
      // ActionMsg bodies are JSON whatever their content type says (the SDK sends them on GET and DELETE too).
      jsonBodies(json, { bodyLimit: MAX_ACTION_BYTES, invalid: () => new AisError(400, "the request body is not JSON") });
      // What fastify meets before a handler (a body too large, not JSON) is the client's error (its status); anything else, ours.
      json.setErrorHandler((err, req, reply) => {
        const status = (err as { statusCode?: number }).statusCode;
        if (!(err instanceof AisError) && (status === undefined || status >= 500)) req.log.error({ err }, "internal error");
        const e = err instanceof AisError ? err : new AisError(status !== undefined && status < 500 ? status : 500, (err as Error).message);
        return sendAisError(req, reply, e, ctx.nodeId);
      });
      json.post("/v1/users/:name", login);
      json.get("/v1/daemon", info("daemon"));
      json.get("/v1/cluster", info("cluster"));

      // Start and stop of jobs (rebalance), an admin's.
      json.put(
        "/v1/cluster",
        handler(
          ctx,
          "cluster action",
          () => ({}),
          async (req, reply) => {
            const msg = actionOf(req.body);
            const principal = callerOf(ctx, req);
            await may(ctx, principal, "koine:Admin", "/");
            const value = actionOf(msg.value) as Record<string, unknown>;
            const kind = value.Kind ?? value.kind;
            if ((msg.action !== "start" && msg.action !== "stop") || kind !== "rebalance") {
              throw new AisError(
                501,
                `cluster action "${String(msg.action)}" ${String(kind ?? "")} is not implemented (start and stop of rebalance are)`,
              );
            }
            if (msg.action === "start") return reply.send((await jobs().rebalance("ALL", {})).id);
            const id = value.ID ?? value.id;
            const stopped = await jobs().stopJob("rebalance", typeof id === "string" && id !== "" ? { id } : { alias: "ALL" });
            return reply.send(stopped?.id ?? "");
          },
        ),
      );

      json.get(
        "/v1/buckets",
        handler(
          ctx,
          "list buckets",
          () => ({}),
          async (req, reply) => listBuckets(req, callerOf(ctx, req), reply),
        ),
      );
      json.get(
        "/v1/buckets/:bucket",
        { exposeHeadRoute: false },
        handler(ctx, "list", bucketTarget, async (req, reply) => {
          const msg = await actionMsgOf(req);
          const action = actionName(msg);
          const principal = callerOf(ctx, req);
          // A list with no value lists buckets, whatever the path says (AIS's rule); with one, the bucket's objects.
          if (action === "list" && (msg.value === null || msg.value === undefined)) return listBuckets(req, principal, reply);
          const bucket = bucketRefOf(ctx, req, params(req).bucket as string);
          if (action === "summary-bck") {
            const info = await bucketAt(ctx, bucket);
            await may(ctx, principal, "s3:ListBucket", bucket.path);
            let objects = 0;
            let bytes = 0;
            for await (const f of client.walk(info.path)) {
              objects++;
              bytes += f.size;
            }
            return reply.send([
              {
                name: bucket.name,
                provider: bucket.provider,
                namespace: { uuid: "", name: "" },
                ObjCount: { obj_count_present: String(objects), obj_count_remote: "0" },
                TotalSize: {
                  size_on_disk: String(bytes),
                  size_all_present_objs: String(bytes),
                  size_all_remote_objs: "0",
                  total_disks_size: "0",
                },
                used_pct: 0,
                is_present: true,
              },
            ]);
          }
          if (action !== undefined && action !== "list") throw new AisError(400, `invalid bucket action "${String(msg.action)}" for GET`);
          await bucketAt(ctx, bucket);
          return listObjects(req, reply, bucket, actionOf(msg.value) as Record<string, unknown>, principal);
        }),
      );
      json.head(
        "/v1/buckets/:bucket",
        handler(ctx, "head bucket", bucketTarget, async (req, reply) => {
          const bucket = bucketRefOf(ctx, req, params(req).bucket as string);
          const principal = callerOf(ctx, req);
          const info = await bucketAt(ctx, bucket);
          await may(ctx, principal, "s3:ListBucket", bucket.path);
          return reply.header("ais-bucket-props", JSON.stringify(bucketProps(info, bucket.provider))).send();
        }),
      );
      json.patch(
        "/v1/buckets/:bucket",
        handler(ctx, "set bucket props", bucketTarget, async (req, reply) => {
          const bucket = bucketRefOf(ctx, req, params(req).bucket as string);
          const msg = actionOf(req.body);
          const action = actionName(msg);
          if (action !== "set-bprops" && action !== "reset-bprops")
            throw new AisError(400, `invalid bucket action "${String(msg.action)}" for PATCH`);
          const principal = callerOf(ctx, req);
          const info = await bucketAt(ctx, bucket);
          await may(ctx, principal, "koine:SetAttributes", bucket.path);
          const value = actionOf(msg.value) as Record<string, unknown>;
          const props = action === "reset-bprops" ? {} : merged(setPropsOf(info), value);
          await client.setAttributes(bucket.path, { userMeta: withProps(info, props) });
          return reply.send();
        }),
      );
      json.post(
        "/v1/buckets/:bucket",
        handler(ctx, "bucket action", bucketTarget, async (req, reply) => {
          const msg = actionOf(req.body);
          const action = actionName(msg);
          const principal = callerOf(ctx, req);
          const bucket = bucketRefOf(ctx, req, params(req).bucket as string);
          // 3.x listed objects with a POST (listobj, listobjects).
          if (action === "list") {
            await bucketAt(ctx, bucket);
            return listObjects(req, reply, bucket, actionOf(msg.value) as Record<string, unknown>, principal);
          }
          if (action === "create-bck") {
            if (bucket.provider !== "ais") throw new AisError(400, `cannot create ${bucket.uname}: mount its S3 bucket instead`);
            await may(ctx, principal, "s3:CreateBucket", bucket.path);
            await client.mkdir(bucket.path, { exclusive: true, owner: principal.user, group: principal.groups[0] ?? "", mode: 0o700 });
            const props = actionOf(msg.value) as Record<string, unknown>;
            if (Object.keys(props).length > 0) {
              const info = await bucketAt(ctx, bucket);
              await client.setAttributes(bucket.path, { userMeta: withProps(info, merged({}, props)) });
            }
            return reply.send();
          }
          const info = await bucketAt(ctx, bucket);
          if (action === "prefetch-listrange") {
            const paths = await selectObjects(ctx, principal, bucket, actionOf(msg.value) as Record<string, unknown>, "s3:GetObject");
            return reply.send(await startJob(jobs(), "prefetch-listrange", "load", paths));
          }
          if (action === "copy-bck" || action === "move-bck") {
            ownsBucket(principal, info, bucket);
            const to = `/${destinationOf(req, msg)}`;
            if (to === bucket.path)
              throw new AisError(400, `cannot ${action === "copy-bck" ? "copy" : "move"} ${bucket.uname} onto itself`);
            await may(ctx, principal, "s3:CreateBucket", to);
            if (action === "move-bck") {
              if (bucket.provider !== "ais") throw new AisError(400, `cannot move ${bucket.uname}: it is a mounted bucket`);
              if (await client.find(to)) throw new AisError(409, `bucket "ais:/${to}" already exists`);
              return reply.send(await startJob(jobs(), "move-bck", "move", [bucket.path], { source: bucket.path, destination: to }));
            }
            if (!(await client.find(to))) await client.mkdir(to, { owner: principal.user, group: principal.groups[0] ?? "", mode: 0o700 });
            await may(ctx, principal, "s3:PutObject", `${to}/x`);
            const value = actionOf(msg.value) as Record<string, unknown>;
            const prefix = typeof value.prefix === "string" ? value.prefix : "";
            const filter = prefix === "" ? {} : { fileFilterRegex: `^${escapeRegExp(`${bucket.path}/${prefix}`)}` };
            return reply.send(
              await startJob(jobs(), "copy-bck", "copy", [bucket.path], {
                source: bucket.path,
                destination: to,
                owner: principal.user,
                ...filter,
              }),
            );
          }
          if (action === "copy-listrange") {
            const value = actionOf(msg.value) as Record<string, unknown>;
            const to = `/${destinationOf(req, { name: (actionOf(value.tobck) as { name?: unknown }).name })}`;
            const paths = await selectObjects(ctx, principal, bucket, value, "s3:GetObject");
            if (!(await client.find(to))) throw new AisError(404, `bucket "ais:/${to}" does not exist`);
            await may(ctx, principal, "s3:PutObject", `${to}/x`);
            return reply.send(
              await startJob(jobs(), "copy-listrange", "copy", paths, { source: bucket.path, destination: to, owner: principal.user }),
            );
          }
          throw new AisError(
            action === undefined ? 400 : 501,
            `bucket action "${String(msg.action)}" is not ${action === undefined ? "valid" : "implemented"}`,
          );
        }),
      );
      // Archive: the selected objects as one tar (or .tgz) object, made by a job.
      json.put(
        "/v1/buckets/:bucket",
        handler(ctx, "archive", bucketTarget, async (req, reply) => {
          const msg = actionOf(req.body);
          if (actionName(msg) !== "archive") throw new AisError(400, `invalid bucket action "${String(msg.action)}" for PUT`);
          const principal = callerOf(ctx, req);
          const bucket = bucketRefOf(ctx, req, params(req).bucket as string);
          await bucketAt(ctx, bucket);
          const value = actionOf(msg.value) as Record<string, unknown>;
          const name = typeof value.archname === "string" ? objectName(value.archname) : "";
          if (name === "") throw new AisError(400, "archive needs archname");
          if (!archiveFormatOf(name))
            throw new AisError(501, `archive "${name}": koine writes .tar and .tgz archives (not .zip or .tar.lz4)`);
          if (value.aate === true) throw new AisError(501, "appending to an archive is not implemented");
          const toName = (actionOf(value.tobck) as { name?: unknown }).name;
          const to = typeof toName === "string" && toName !== "" ? `/${bucketName(toName)}` : bucket.path;
          if (!(await client.find(to))) throw new AisError(404, `bucket "ais:/${to}" does not exist`);
          const paths = await selectObjects(ctx, principal, bucket, value, "s3:GetObject");
          const destination = `${to}/${name}`;
          await may(ctx, principal, "s3:PutObject", destination);
          return reply.send(
            await startJob(jobs(), "archive", "archive", paths, {
              source: bucket.path,
              destination,
              owner: principal.user,
              keepSourceName: value.isbn === true,
            }),
          );
        }),
      );
      json.delete(
        "/v1/buckets/:bucket",
        handler(ctx, "bucket delete", bucketTarget, async (req, reply) => {
          const msg = actionOf(req.body);
          const action = actionName(msg) ?? "destroy-bck";
          const principal = callerOf(ctx, req);
          const bucket = bucketRefOf(ctx, req, params(req).bucket as string);
          const info = await bucketAt(ctx, bucket);
          if (action === "destroy-bck") {
            if (bucket.provider !== "ais") throw new AisError(400, `cannot destroy ${bucket.uname}: use evict-remote-bck`);
            await may(ctx, principal, "s3:DeleteBucket", bucket.path);
            // AIS destroys a bucket with what is in it.
            await client.delete(bucket.path, { recursive: true });
            return reply.send();
          }
          if (action === "delete-listrange" || action === "evict-listrange") {
            const value = actionOf(msg.value) as Record<string, unknown>;
            const deleting = action === "delete-listrange";
            const paths = await selectObjects(ctx, principal, bucket, value, deleting ? "s3:DeleteObject" : "s3:GetObject");
            if (!deleting) for (const path of paths) await may(ctx, principal, "koine:FreeCache", path);
            return reply.send(await startJob(jobs(), action, deleting ? "delete" : "free", paths));
          }
          if (action === "evict-remote-bck") {
            if (bucket.provider === "ais") throw new AisError(400, `cannot evict ${bucket.uname}: not a remote bucket`);
            ownsBucket(principal, info, bucket);
            await startJob(jobs(), "evict-remote-bck", "free", [bucket.path]);
            return reply.send();
          }
          throw new AisError(501, `bucket action "${String(msg.action)}" is not implemented`);
        }),
      );
    });
  } else {
    app.get("/v1/daemon", info("daemon"));
  }

  // Objects: bytes as they come (the SDK says application/json for every body), streamed.
  await app.register(async (raw: FastifyInstance) => {
    streamedBodies(raw);
    await objectRoutes(raw, ctx, redirects, target, options.localRoots ?? []);
  });
};
