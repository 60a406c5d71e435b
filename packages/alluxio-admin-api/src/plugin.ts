import { randomBytes } from "node:crypto";
import type { Cluster, Policies } from "@koine/client";
import { parseDuration, parseSize } from "@koine/config";
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
import { Value } from "@sinclair/typebox/value";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { AdminError, sendJson, toAdminError } from "./errors.ts";

export interface AdminPluginOptions {
  cluster: Cluster;
  policies: Policies;
  /** Endpoints switched off on this cluster (e.g. "quota"): they answer 501 (file_index: 404, as Alluxio's). */
  disabled?: readonly string[];
}

const MAX_BODY_BYTES = 1024 * 1024;

/** A request's JSON body, which must be an object (fastify's parser has read it, up to MAX_BODY_BYTES). */
function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const value = req.body;
  if (value === undefined) throw new AdminError(400, "The request has no body");
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new AdminError(400, "The request body is not a JSON object");
  return value as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new AdminError(400, `${key} must be a string`);
  return value;
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

/** A request's "paths": a non-empty list of non-empty strings. */
function isPathList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((p) => typeof p === "string" && p);
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

/**
 * The Alluxio 3.x coordinator admin REST API. Errors are
 * `{"status": message}` with the seed page's HTTP codes.
 */
export const adminPlugin: FastifyPluginAsync<AdminPluginOptions> = async (app, { cluster, policies, disabled = [] }) => {
  const client = cluster.client;
  // Bodies are JSON whatever their content type says (curl's default is a form), read by fastify up to MAX_BODY_BYTES.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string", bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AdminError(400, "The request body is not JSON"), undefined);
    }
  });
  // Every error, the handlers' and fastify's, as {"status": message} with its code.
  app.setErrorHandler((err, req, reply) => {
    const e = toAdminError(err);
    if (e.httpStatus >= 500) req.log.error({ err }, "internal error");
    return sendJson(reply, e.httpStatus, { status: e.message, ...e.extra });
  });
  app.addHook("onRequest", async (req, reply) => {
    const name = /^\/api\/v1\/([^/?]+)/.exec(req.url)?.[1];
    if (name && disabled.includes(name)) {
      return sendJson(reply, name === "file_index" ? 404 : 501, { status: `/api/v1/${name} is switched off on this cluster` });
    }
  });

  const handle =
    (work: (req: FastifyRequest) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
      sendJson(reply, 200, (await work(req)) ?? {});
  const query = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
  /** The namespace path a request names (a path or a mounted under-store URI); what names none is a 400. */
  const namespacePath = (location: string): string => {
    try {
      return client.namespacePathOf(location);
    } catch (err) {
      throw new AdminError(400, (err as Error).message);
    }
  };

  /** A job's progress, or the list of its kind's jobs (after `lastKey`, at most `count`). */
  const progress = async (kind: JobKind, q: Record<string, string | undefined>, names: Record<string, unknown>) => {
    if (Object.values(names).every((v) => v === undefined)) {
      const count = q.count === undefined ? Number.POSITIVE_INFINITY : Number(q.count);
      if ((!Number.isInteger(count) || count < 0) && count !== Number.POSITIVE_INFINITY) {
        throw new AdminError(400, "count must be a whole number of jobs");
      }
      return { results: (await cluster.listJobs(kind, q.lastKey, count)).map(shown) };
    }
    const record = await cluster.findJob(kind, names);
    if (!record) throw new AdminError(404, "No job found");
    return shown(record);
  };

  /** Stops the running job a request names. */
  const stop = async (kind: JobKind, names: Record<string, unknown>) => {
    const stopped = await cluster.stopJob(kind, names);
    if (!stopped) throw new AdminError(410, "The job does not exist or has already finished");
    return { id: stopped.id, state: stopped.state };
  };

  /** A kind of job (distributed load, free): list, progress, submit or resume, stop, at /api/v1/<kind>. */
  const jobEndpoints = (kind: JobKind) => {
    app.get(
      `/api/v1/${kind}`,
      handle(async (req) => {
        const q = query(req);
        return progress(kind, q, { id: q.id, alias: q.alias, index: q.index });
      }),
    );
    app.post(
      `/api/v1/${kind}`,
      handle(async (req) => {
        const body = jsonBody(req);
        const index = stringField(body, "index");
        const alias = stringField(body, "alias");
        const paths = body.paths;
        if (paths !== undefined && !isPathList(paths)) throw new AdminError(400, "paths must be a non-empty list of paths");
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
      }),
    );
    app.delete(
      `/api/v1/${kind}`,
      handle(async (req) => stop(kind, jsonBody(req))),
    );
  };
  jobEndpoints("load");
  jobEndpoints("free");

  // Rebalance (target: a cache node id or ALL), and clear stale cache (a rebalance that only prunes, on every node).
  const targetOf = (value: unknown): string => {
    if (value === undefined || value === null || value === "") throw new AdminError(400, "Give target: a cache node id or ALL");
    if (typeof value !== "string") throw new AdminError(400, "target must be a string");
    return value;
  };
  app.get(
    "/api/v1/rebalance",
    handle(async (req) => {
      const q = query(req);
      return progress("rebalance", q, { id: q.id, alias: q.target });
    }),
  );
  app.post(
    "/api/v1/rebalance",
    handle(async (req) => {
      const body = jsonBody(req);
      const given = (body.options ?? {}) as Record<string, unknown>;
      const options = loadOptionsOf({
        ...given,
        batchSize: given.loadBatchSize ?? given.batchSize,
        bandwidth: given.loadBandwidth ?? given.bandwidth,
      });
      return submitted(await cluster.rebalance(targetOf(body.target), options));
    }),
  );
  app.delete(
    "/api/v1/rebalance",
    handle(async (req) => {
      const body = jsonBody(req);
      return stop("rebalance", { id: body.id, alias: body.target });
    }),
  );
  app.post(
    "/api/v1/cache",
    handle(async () => ({ errors: {}, ...submitted(await cluster.rebalance("ALL", { pruneOnly: true })) })),
  );

  // Cache nodes.
  app.get(
    "/api/v1/nodes",
    handle(async () => ({
      results: cluster.nodes().map((m) => ({
        id: m.id,
        address: m.url,
        state: m.state ?? "LIVE",
        capacityBytes: m.capacityBytes,
        usedBytes: m.usedBytes,
        startTime: new Date(m.startedMs).toISOString(),
      })),
    })),
  );

  // Decommission: the node leaves the ring, a rebalance moves its blocks to their new owners, then it leaves the cluster.
  app.delete(
    "/api/v1/nodes",
    handle(async (req) => {
      const q = query(req);
      const id = q.id ?? stringField(jsonBody(req), "id");
      if (!id) throw new AdminError(400, "Give the id of the cache node to decommission");
      const { existing, ...job } = await cluster.decommission(id);
      if (existing) throw new AdminError(409, `The same job exists (${job.id}); it is resumed`, { id: job.id, alias: job.alias });
      return job;
    }),
  );

  // Policies: quota, ttl, priority (per path), cache-filter (per path pattern, and a default).
  const policyPath = (body: Record<string, unknown>) => {
    const path = stringField(body, "path");
    if (!path) throw new AdminError(400, "Give path");
    return namespacePath(path).replace(/(.)\/+$/, "$1");
  };
  const durationOf = (value: unknown, field: string): number => {
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
    try {
      if (typeof value === "string") {
        const ms = parseDuration(value, field);
        if (ms >= 0) return ms;
      }
    } catch {
      // reported below
    }
    throw new AdminError(400, `${field} must be a duration such as 30s, 5min, 1h, or ms`);
  };
  const policyEndpoints = (name: string, kind: PolicyKind, make: (body: Record<string, unknown>) => Omit<Policy, "kind" | "createdMs">) => {
    app.get(
      `/api/v1/${name}`,
      handle(async () => ({ results: policies.list(kind) })),
    );
    app.post(
      `/api/v1/${name}`,
      handle(async (req) => {
        const policy: Policy = { ...make(jsonBody(req)), kind, createdMs: Date.now() };
        await policies.put(policy);
        return policy;
      }),
    );
    app.delete(
      `/api/v1/${name}`,
      handle(async (req) => {
        const body = jsonBody(req);
        const key = kind === "cacheFilter" ? (body.default === true ? "" : (stringField(body, "pattern") ?? "")) : policyPath(body);
        if (!(await policies.remove(kind, key))) throw new AdminError(404, `No ${name} rule for ${key || "the default"}`);
        return { path: key };
      }),
    );
  };
  policyEndpoints("quota", "quota", (body) => {
    const size = body.size ?? body.bytes;
    let bytes: number | undefined;
    if (typeof size === "number" && Number.isInteger(size) && size >= 0) bytes = size;
    else if (typeof size === "string") {
      try {
        bytes = parseSize(size, "size");
      } catch {
        bytes = undefined;
      }
    }
    if (bytes === undefined) throw new AdminError(400, "size must be a size such as 10GiB, or bytes");
    return { path: policyPath(body), bytes };
  });
  policyEndpoints("ttl", "ttl", (body) => ({ path: policyPath(body), ttlMs: durationOf(body.time ?? body.ttl, "time") }));
  policyEndpoints("priority", "priority", (body) => {
    const priority = body.priority;
    if (priority !== "HIGH" && priority !== "MEDIUM" && priority !== "LOW")
      throw new AdminError(400, "priority must be HIGH, MEDIUM or LOW");
    return { path: policyPath(body), priority };
  });
  policyEndpoints("cache-filter", "cacheFilter", (body) => {
    const type = body.type;
    if (type !== "immutable" && type !== "maxAge" && type !== "skipCache") {
      throw new AdminError(400, "type must be immutable, maxAge or skipCache");
    }
    const pattern = body.default === true ? "" : stringField(body, "pattern");
    if (pattern === undefined) throw new AdminError(400, "Give pattern (a regular expression over paths), or default: true");
    compilePattern(pattern, "pattern");
    return { path: pattern, filter: type, ...(type === "maxAge" ? { maxAgeMs: durationOf(body.time, "time") } : {}) };
  });

  // The global file index: files whose cache placement is reported.
  const pathsOf = (body: Record<string, unknown>): string[] => {
    if (!isPathList(body.paths)) throw new AdminError(400, "paths must be a non-empty list of paths");
    return body.paths.map(namespacePath);
  };
  app.get(
    "/api/v1/file_index",
    handle(async () => ({ results: await cluster.indexedFiles() })),
  );
  app.post(
    "/api/v1/file_index",
    handle(async (req) => ({ added: await cluster.indexFiles(pathsOf(jsonBody(req))) })),
  );
  app.delete(
    "/api/v1/file_index",
    handle(async (req) => ({ removed: await cluster.unindexFiles(pathsOf(jsonBody(req))) })),
  );

  // Mounts: list, add, remove.
  app.get(
    "/api/v1/mount",
    handle(async () => ({
      results: client.mounts().map((m) => ({
        path: m.path,
        ufs: m.uri,
        readOnly: m.readOnly,
        // Credentials are not shown.
        options: Object.fromEntries(Object.entries(m.properties ?? {}).map(([k, v]) => [k, /secret|key/i.test(k) ? "******" : v])),
      })),
    })),
  );
  app.post(
    "/api/v1/mount",
    handle(async (req) => {
      const body = jsonBody(req);
      const path = stringField(body, "path");
      const ufs = stringField(body, "ufs");
      if (!path || !ufs) throw new AdminError(400, "Give path and ufs");
      if (body.readOnly !== undefined && typeof body.readOnly !== "boolean") throw new AdminError(400, "readOnly must be true or false");
      const options = body.options ?? {};
      if (typeof options !== "object" || Array.isArray(options)) throw new AdminError(400, "options must be a JSON object");
      const properties = Object.fromEntries(Object.entries(options as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      await client.mount(path, ufs, { readOnly: body.readOnly === true, properties });
      return { path, ufs };
    }),
  );
  app.delete(
    "/api/v1/mount",
    handle(async (req) => {
      const path = stringField(jsonBody(req), "path");
      if (!path) throw new AdminError(400, "Give path");
      try {
        await client.unmount(path);
      } catch (err) {
        if (err instanceof KoineError && err.code === ErrorCode.InvalidArgument) throw new AdminError(404, err.message);
        throw err;
      }
      return { path };
    }),
  );
};
