import { randomBytes } from "node:crypto";
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from "@fastify/type-provider-typebox";
import type { Identities } from "@koine/access";
import type { Cluster, Policies } from "@koine/client";
import { parseDuration, parseSize } from "@koine/config";
import { jsonBodies } from "@koine/frontend";
import { collectOverview } from "@koine/overview";
import {
  compilePattern,
  ErrorCode,
  type JobKind,
  type JobOptions,
  type JobRecord,
  JobSchemas,
  KoineError,
  type Policy,
  type PolicyKind,
} from "@koine/protocol";
import { authenticateHttp } from "@koine/s3";
import { Value } from "@sinclair/typebox/value";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { AdminError, sendJson, toAdminError } from "./errors.ts";
import * as S from "./schemas.ts";

export interface AdminPluginOptions {
  cluster: Cluster;
  /** The users requests are made by: only admins are let in (HTTP Basic or SigV4 with a koine key). */
  identities: Identities;
  policies: Policies;
  /** Endpoints switched off on this cluster (e.g. "quota"): they answer 501 (file_index: 404, as Alluxio's). */
  disabled?: readonly string[];
}

const MAX_BODY_BYTES = 1024 * 1024;

/** A text field, absent when empty. */
function given(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}

/** Load options: known keys only, numbers and booleans also accepted as strings (the older form). */
function loadOptionsOf(value: unknown): JobOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new AdminError(400, "options must be a JSON object");
  const known = Object.keys(JobSchemas.JobOptions.properties);
  const picked = Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([k]) => known.includes(k)));
  const options = Value.Convert(JobSchemas.JobOptions, picked);
  if (!Value.Check(JobSchemas.JobOptions, options)) {
    const first = Value.Errors(JobSchemas.JobOptions, options).First();
    throw new AdminError(400, `Invalid option ${first?.path.slice(1)}: ${first?.message}`);
  }
  if (options.fileFilterRegex !== undefined) compilePattern(options.fileFilterRegex, "fileFilterRegex");
  return options;
}

/** The job JSON as Alluxio shows it: empty values omitted; throughput (bytes per second read from the under-stores) added. */
/** How long the overview waits for one process's metrics. */
const SCRAPE_TIMEOUT_MS = 2_000;

function shown(record: JobRecord): Record<string, unknown> {
  const seconds = record.timeElapsedMilliseconds / 1000;
  const throughput = seconds > 0 ? Math.round(record.ufsReadBytes / seconds) : 0;
  return Object.fromEntries(
    Object.entries({ ...record, throughput }).filter(
      ([, v]) => v !== "" && !(Array.isArray(v) && v.length === 0) && !(v && typeof v === "object" && Object.keys(v).length === 0),
    ),
  );
}

/** A submitted job as the API answers it: an existing one (resumed if it was stopped) is a 409 with its id. */
function submitted(job: { id: string; alias: string; existing: boolean }): { id: string; alias: string } {
  if (job.existing) throw new AdminError(409, `The same job exists (${job.id}); it is resumed`, { id: job.id, alias: job.alias });
  return { id: job.id, alias: job.alias };
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

/**
 * The Alluxio 3.x coordinator admin REST API. Errors are
 * `{"status": message}` with the seed page's HTTP codes.
 */
export const adminPlugin: FastifyPluginAsync<AdminPluginOptions> = async (root, { cluster, policies, identities, disabled = [] }) => {
  const client = cluster.client;
  // Request schemas checked by TypeBox itself: no type coercion of bodies ("/m" is no list of paths).
  root.setValidatorCompiler(TypeBoxValidatorCompiler);
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  // Bodies are JSON whatever their content type says (curl's default is a form), read by fastify up to MAX_BODY_BYTES.
  jsonBodies(app as unknown as FastifyInstance, {
    bodyLimit: MAX_BODY_BYTES,
    invalid: () => new AdminError(400, "The request body is not JSON"),
  });
  // Every error, the handlers' and fastify's (a body that does not fit its schema, one too large), as {"status": message}.
  app.setErrorHandler((err, req, reply) => {
    const e = toAdminError(err);
    if (e.httpStatus >= 500) req.log.error({ err }, "internal error");
    // Basic is offered to who sent Basic or nothing; a SigV4 signer (the web console) would get a browser's password prompt.
    if (e.httpStatus === 401 && !req.headers.authorization?.startsWith("AWS4-"))
      reply.header("www-authenticate", 'Basic realm="koine admin"');
    return sendJson(reply, e.httpStatus, { status: e.message, ...e.extra });
  });
  // The admin API is an admin's: who is not one gets nothing, not even which endpoints are switched off.
  app.addHook("onRequest", async (req) => {
    const principal = authenticateHttp(req, identities, "koine");
    if (principal.anonymous) throw new AdminError(401, "The admin API needs an admin's credentials (HTTP Basic or SigV4)");
    if (!principal.admin) throw new AdminError(403, `User ${principal.user} is not an admin`);
  });
  app.addHook("onRequest", async (req, reply) => {
    const name = /^\/api\/v1\/([^/?]+)/.exec(req.url)?.[1];
    if (name && disabled.includes(name)) {
      return sendJson(reply, name === "file_index" ? 404 : 501, { status: `/api/v1/${name} is switched off on this cluster` });
    }
  });
  /** Every answer is exactly application/json. */
  app.addHook("preSerialization", async (_req, reply, payload) => {
    reply.header("content-type", "application/json");
    return payload ?? {};
  });

  /** The namespace path a request names (a path or a mounted under-store URI); what names none is a 400. */
  const namespacePath = (location: string): string => {
    try {
      return client.namespacePathOf(location);
    } catch (err) {
      throw new AdminError(400, (err as Error).message);
    }
  };

  /** A job's progress, or the list of its kind's jobs (after `lastKey`, at most `count`). */
  const progress = async (kind: JobKind, q: { count?: number; lastKey?: string }, names: Record<string, string | undefined>) => {
    if (Object.values(names).every((v) => v === undefined)) {
      return { results: (await cluster.listJobs(kind, q.lastKey, q.count)).map(shown) };
    }
    const record = await cluster.findJob(kind, names);
    if (!record) throw new AdminError(404, "No job found");
    return shown(record);
  };

  /** Stops the running job a request names. */
  const stop = async (kind: JobKind, names: Record<string, string | undefined>) => {
    const stopped = await cluster.stopJob(kind, names);
    if (!stopped) throw new AdminError(410, "The job does not exist or has already finished");
    return { id: stopped.id, state: stopped.state };
  };

  /** A kind of job (distributed load, free): list, progress, submit or resume, stop, at /api/v1/<kind>. */
  const jobEndpoints = (kind: JobKind) => {
    app.get(`/api/v1/${kind}`, { schema: { querystring: S.JobQuery } }, async ({ query: q }) =>
      progress(kind, q, { id: q.id, alias: q.alias, index: q.index }),
    );
    app.post(`/api/v1/${kind}`, { schema: { body: S.JobSubmit } }, async ({ body }) => {
      const index = given(body.index);
      const alias = given(body.alias);
      const paths = body.paths;
      if ((index === undefined) === (paths === undefined)) throw new AdminError(400, "Give either index or paths");
      if (alias !== undefined && paths === undefined) throw new AdminError(400, "alias goes with paths");
      const options = loadOptionsOf(body.options);
      const targets = paths ?? [index as string];
      for (const target of targets) namespacePath(target);
      const job = {
        kind,
        alias: alias ?? `${kind}-${randomBytes(6).toString("hex")}`,
        paths: index === undefined ? targets : [],
        index: index ?? "",
        options,
      };
      return submitted(
        await cluster.submitJob(job, (r) =>
          index !== undefined ? r.index === index : alias !== undefined ? r.alias === alias : samePaths(r.paths, targets),
        ),
      );
    });
    app.delete(`/api/v1/${kind}`, { schema: { body: S.JobStop } }, async ({ body }) => stop(kind, body));
  };
  jobEndpoints("load");
  jobEndpoints("free");

  // Rebalance (target: a cache node id or ALL), and clear stale cache (a rebalance that only prunes, on every node).
  app.get("/api/v1/rebalance", { schema: { querystring: S.RebalanceQuery } }, async ({ query: q }) =>
    progress("rebalance", q, { id: q.id, alias: q.target }),
  );
  app.post("/api/v1/rebalance", { schema: { body: S.RebalanceSubmit } }, async ({ body }) => {
    const options = body.options ?? {};
    const jobOptions = loadOptionsOf({
      ...options,
      batchSize: options.loadBatchSize ?? options.batchSize,
      bandwidth: options.loadBandwidth ?? options.bandwidth,
    });
    const target = given(body.target);
    if (target === undefined) throw new AdminError(400, "Give target: a cache node id or ALL");
    return submitted(await cluster.rebalance(target, jobOptions));
  });
  app.delete("/api/v1/rebalance", { schema: { body: S.RebalanceStop } }, async ({ body }) =>
    stop("rebalance", { id: body.id, alias: body.target }),
  );
  app.post("/api/v1/cache", async () => ({ errors: {}, ...submitted(await cluster.rebalance("ALL", { pruneOnly: true })) }));

  // Cache nodes.
  app.get("/api/v1/nodes", async () => ({
    results: cluster.nodes().map((m) => ({
      id: m.id,
      address: m.url,
      state: m.state ?? "LIVE",
      capacityBytes: m.capacityBytes,
      usedBytes: m.usedBytes,
      startTime: new Date(m.startedMs).toISOString(),
    })),
  }));

  // Every service of the cluster (a koine extension): UP while it heartbeats, DOWN once silent.
  app.get("/api/v1/services", async () => ({
    results: (await cluster.services()).map(({ startedMs, heardMs: _heard, ...service }) => ({
      ...service,
      startTime: new Date(startedMs).toISOString(),
    })),
  }));

  // The cluster at a glance (a koine extension): services, nodes, every process's metrics added up, running jobs.
  app.get("/api/v1/overview", async () =>
    collectOverview({
      services: await cluster.services(),
      members: cluster.nodes(),
      jobs: (await cluster.jobs.list()).filter((job) => job.state === "RUNNING").map(shown),
      scrape: async (url) => {
        const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
        return res.ok ? res.text() : undefined;
      },
    }),
  );

  // One file or object (a koine extension): what metadata knows of it, and where each block of its bytes is cached.
  app.get("/api/v1/object", { schema: { querystring: S.ObjectQuery } }, async ({ query }) => {
    const path = namespacePath(query.path);
    const info = await client.find(path);
    if (!info) throw new AdminError(404, `No file or directory at ${path}`);
    const { contentId, size, etag, blockSize, mtimeMs, persistence, checksums, checksumType, type, marker, ufs } = info;
    const mount = client.mounts().find((m) => m.id === ufs.mountId);
    return {
      path: info.path,
      type,
      ...(marker ? { folderObject: true } : {}),
      size,
      etag,
      contentId,
      blockSize,
      modified: new Date(mtimeMs).toISOString(),
      persistence,
      checksums: checksums ?? {},
      ...(checksumType ? { checksumType } : {}),
      ufs: { mount: mount?.path, uri: mount ? `${mount.uri.replace(/\/$/, "")}${ufs.path}` : undefined },
      blocks: type === "file" || marker ? await cluster.blocksOf(info) : [],
    };
  });

  // Metadata's shards and their replicas (a koine extension): which leads, how far each is behind its journal.
  app.get("/api/v1/metadata", async () => ({
    shards: (await cluster.metadataStatus()).map(({ shard, journal, snapshot, replicas }) => ({
      shard,
      journal: {
        stream: journal.stream,
        firstSeq: journal.firstSeq,
        lastSeq: journal.lastSeq,
        ...(journal.lastStoredMs ? { lastStored: new Date(journal.lastStoredMs).toISOString() } : {}),
      },
      ...(snapshot
        ? {
            snapshot: {
              seq: snapshot.seq,
              bytes: snapshot.bytes,
              taken: new Date(snapshot.takenMs).toISOString(),
              ageSeconds: (Date.now() - snapshot.takenMs) / 1000,
            },
          }
        : {}),
      replicas: replicas.map((r) => ({
        replica: r.replica,
        leads: r.leads,
        appliedSeq: r.appliedSeq,
        behindEntries: r.behindEntries,
        behindSeconds: r.behindSeconds,
        startTime: new Date(r.startedMs).toISOString(),
        heardMsAgo: r.heardMsAgo,
      })),
    })),
  }));

  // Decommission: the node leaves the ring, a rebalance moves its blocks to their new owners, then it leaves the cluster.
  app.delete("/api/v1/nodes", { schema: { querystring: S.NodeQuery, body: S.NodeBody } }, async ({ query, body }) => {
    const id = given(query.id) ?? given(body?.id);
    if (!id) throw new AdminError(400, "Give the id of the cache node to decommission");
    const { node, ...job } = await cluster.decommission(id);
    return { node, ...submitted(job) };
  });

  // Policies: quota, ttl, priority (per path), cache-filter (per path pattern, and a default).
  const policyPath = (path: string) => namespacePath(path).replace(/(.)\/+$/, "$1");
  const durationOf = (value: number | string | undefined, field: string): number => {
    if (typeof value === "number") return value;
    try {
      if (value !== undefined) {
        const ms = parseDuration(value, field);
        if (ms >= 0) return ms;
      }
    } catch {
      // reported below
    }
    throw new AdminError(400, `${field} must be a duration such as 30s, 5min, 1h, or ms`);
  };
  const addPolicy = async (policy: Omit<Policy, "createdMs">) => {
    const added: Policy = { ...policy, createdMs: Date.now() } as Policy;
    await policies.put(added);
    return added;
  };
  const removePolicy = async (name: string, kind: PolicyKind, key: string) => {
    if (!(await policies.remove(kind, key))) throw new AdminError(404, `No ${name} rule for ${key || "the default"}`);
    return { path: key };
  };
  for (const [name, kind] of [
    ["quota", "quota"],
    ["ttl", "ttl"],
    ["priority", "priority"],
    ["cache-filter", "cacheFilter"],
  ] as const) {
    app.get(`/api/v1/${name}`, async () => ({ results: policies.list(kind) }));
    if (kind === "cacheFilter") {
      app.delete(`/api/v1/${name}`, { schema: { body: S.CacheFilterRemove } }, async ({ body }) =>
        removePolicy(name, kind, body.default === true ? "" : (given(body.pattern) ?? "")),
      );
    } else {
      app.delete(`/api/v1/${name}`, { schema: { body: S.PolicyPath } }, async ({ body }) =>
        removePolicy(name, kind, policyPath(body.path)),
      );
    }
  }
  app.post("/api/v1/quota", { schema: { body: S.QuotaAdd } }, async ({ body }) => {
    const size = body.size ?? body.bytes;
    let bytes: number | undefined;
    if (typeof size === "number") bytes = size;
    else if (size !== undefined) {
      try {
        bytes = parseSize(size, "size");
      } catch {
        bytes = undefined;
      }
    }
    if (bytes === undefined) throw new AdminError(400, "size must be a size such as 10GiB, or bytes");
    return addPolicy({ kind: "quota", path: policyPath(body.path), bytes });
  });
  app.post("/api/v1/ttl", { schema: { body: S.TtlAdd } }, async ({ body }) =>
    addPolicy({ kind: "ttl", path: policyPath(body.path), ttlMs: durationOf(body.time ?? body.ttl, "time") }),
  );
  app.post("/api/v1/priority", { schema: { body: S.PriorityAdd } }, async ({ body }) =>
    addPolicy({ kind: "priority", path: policyPath(body.path), priority: body.priority }),
  );
  app.post("/api/v1/cache-filter", { schema: { body: S.CacheFilterAdd } }, async ({ body }) => {
    const pattern = body.default === true ? "" : given(body.pattern);
    if (pattern === undefined) throw new AdminError(400, "Give pattern (a regular expression over paths), or default: true");
    compilePattern(pattern, "pattern");
    return addPolicy({
      kind: "cacheFilter",
      path: pattern,
      filter: body.type,
      ...(body.type === "maxAge" ? { maxAgeMs: durationOf(body.time, "time") } : {}),
    });
  });

  // The global file index: files whose cache placement is reported.
  app.get("/api/v1/file_index", async () => ({ results: await cluster.indexedFiles() }));
  app.post("/api/v1/file_index", { schema: { body: S.PathList } }, async ({ body }) => ({
    added: await cluster.indexFiles(body.paths.map(namespacePath)),
  }));
  app.delete("/api/v1/file_index", { schema: { body: S.PathList } }, async ({ body }) => ({
    removed: await cluster.unindexFiles(body.paths.map(namespacePath)),
  }));

  // Users (koine's own endpoints): list without secrets, add (a generated secret is shown this once), remove.
  app.get("/api/v1/users", async () => ({ results: await cluster.users() }));
  app.post("/api/v1/users", { schema: { body: S.UserAdd } }, async ({ body }) => {
    const secretKey = body.secretKey ?? randomBytes(24).toString("base64url");
    const user = await cluster.putUser({ ...body, secretKey });
    return { ...user, ...(body.secretKey === undefined ? { secretKey } : {}) };
  });
  app.delete("/api/v1/users", { schema: { body: S.UserRemove } }, async ({ body }) => await cluster.removeUser(body.accessKey));

  // Mounts: list, add, remove.
  app.get("/api/v1/mount", async () => ({
    results: client.mounts().map((m) => ({
      path: m.path,
      ufs: m.uri,
      readOnly: m.readOnly,
      // Credentials are not shown.
      options: Object.fromEntries(Object.entries(m.properties ?? {}).map(([k, v]) => [k, /secret|key/i.test(k) ? "******" : v])),
    })),
  }));
  app.post("/api/v1/mount", { schema: { body: S.MountAdd } }, async ({ body }) => {
    const properties = Object.fromEntries(Object.entries(body.options ?? {}).map(([k, v]) => [k, String(v)]));
    await client.mount(body.path, body.ufs, { readOnly: body.readOnly === true, properties });
    return { path: body.path, ufs: body.ufs };
  });
  app.delete("/api/v1/mount", { schema: { body: S.MountRemove } }, async ({ body }) => {
    try {
      await client.unmount(body.path);
    } catch (err) {
      if (err instanceof KoineError && err.code === ErrorCode.InvalidArgument) throw new AdminError(404, err.message);
      throw err;
    }
    return { path: body.path };
  });
};
