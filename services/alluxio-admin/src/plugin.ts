import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import { enqueue, entriesOf, type KV, request, whenJetStreamReady } from "@koine/bus";
import { FileSystemClient, type JobStore, type Policies } from "@koine/client";
import { parseDuration, parseSize } from "@koine/config";
import {
  cacheNode,
  compilePattern,
  ErrorCode,
  HTTP_STATUS,
  isWithin,
  type JobKind,
  type JobOptions,
  type JobRecord,
  JobSchemas,
  Jobs,
  KoineError,
  type Policy,
  type PolicyKind,
} from "@koine/protocol";
import { Value } from "@sinclair/typebox/value";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

export interface AdminPluginOptions {
  client: FileSystemClient;
  jobs: JobStore;
  policies: Policies;
  /** Endpoints switched off on this cluster (e.g. "quota"): they answer 501 (file_index: 404, as Alluxio's). */
  disabled?: readonly string[];
  /** The global file index's bucket. */
  fileIndex: KV;
}

/** An admin API error: its HTTP status and `{"status": message, ...extra}`. */
class AdminError extends Error {
  readonly httpStatus: number;
  readonly extra: Record<string, unknown>;

  constructor(httpStatus: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.httpStatus = httpStatus;
    this.extra = extra;
  }
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Exactly `application/json` (fastify would add a charset to a string body). */
function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply
    .code(status)
    .header("content-type", "application/json")
    .send(Buffer.from(JSON.stringify(value)));
}

/** A request too malformed to route gets the admin API's JSON error. */
export function adminClientErrorHandler(err: Error, socket: Socket): void {
  if (!socket.writable) return;
  const body = JSON.stringify({ status: `Bad request: ${err.message}` });
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function jsonBody(req: FastifyRequest): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AdminError(400, "The request body is too large");
    parts.push(chunk);
  }
  const text = Buffer.concat(parts).toString("utf8").trim();
  if (text === "") throw new AdminError(400, "The request has no body");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AdminError(400, "The request body is not JSON");
  }
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
export const adminPlugin: FastifyPluginAsync<AdminPluginOptions> = async (app, { client, jobs, policies, disabled = [], fileIndex }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));
  app.addHook("onRequest", async (req, reply) => {
    const name = /^\/api\/v1\/([^/?]+)/.exec(req.url)?.[1];
    if (name && disabled.includes(name)) {
      return sendJson(reply, name === "file_index" ? 404 : 501, { status: `/api/v1/${name} is switched off on this cluster` });
    }
  });

  const handle =
    (work: (req: FastifyRequest) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      try {
        return sendJson(reply, 200, (await work(req)) ?? {});
      } catch (err) {
        const status = err instanceof AdminError ? err.httpStatus : err instanceof KoineError ? HTTP_STATUS[err.code] : 500;
        if (status === 500) req.log.error({ err }, "internal error");
        const extra = err instanceof AdminError ? err.extra : {};
        return sendJson(reply, status, { status: err instanceof Error ? err.message : String(err), ...extra });
      }
    };
  const query = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
  /** The namespace path a request names (a path or a mounted under-store URI); what names none is a 400. */
  const namespacePath = (location: string): string => {
    try {
      return client.namespacePathOf(location);
    } catch (err) {
      throw new AdminError(400, (err as Error).message);
    }
  };

  /** The job a request names by id, alias or index (at most one of them). */
  const findJob = async (kind: JobKind, names: Record<string, unknown>): Promise<JobRecord | undefined> => {
    const given = (["id", "alias", "index"] as const).filter((k) => names[k] !== undefined && names[k] !== "");
    if (given.length > 1) throw new AdminError(400, "Give at most one of id, alias and index");
    const key = given[0];
    if (!key) throw new AdminError(400, "Give the job's id, alias or index");
    const value = String(names[key]);
    if (key === "id") {
      const record = await jobs.get(value);
      return record?.kind === kind ? record : undefined;
    }
    return (await jobs.list()).filter((r) => r.kind === kind && r[key] === value).pop();
  };

  const startJob = (id: string) => enqueue(client.nc, Jobs.run, { jobId: id }, `run-${id}-${randomBytes(4).toString("hex")}`);

  /**
   * Starts a new job, or resumes (409, with its id) the unfinished one of
   * the same kind for which `same` holds: a stopped one runs again.
   */
  const submit = async (
    job: Pick<JobRecord, "kind" | "alias" | "paths" | "index" | "options">,
    same: (r: JobRecord) => boolean,
  ): Promise<{ id: string; alias: string }> => {
    const earlier = (await jobs.list()).find((r) => r.kind === job.kind && r.state !== "SUCCEEDED" && r.state !== "FAILED" && same(r));
    if (earlier) {
      if (earlier.state === "STOPPED") {
        await jobs.update(earlier.id, (r) => {
          const { endTime: _endTime, ...rest } = r;
          return { ...rest, state: "RUNNING" };
        });
        await startJob(earlier.id);
      }
      throw new AdminError(409, `The same job exists (${earlier.id}); it is resumed`, { id: earlier.id, alias: earlier.alias });
    }
    const record: JobRecord = {
      ...job,
      id: randomUUID(),
      state: "RUNNING",
      startTime: new Date().toISOString(),
      timeElapsedMilliseconds: 0,
      scannedFiles: 0,
      loadedNonEmptyFiles: 0,
      skippedFiles: 0,
      failedFiles: 0,
      totalBytes: 0,
      loadedBytes: 0,
      skippedBytes: 0,
      ufsReadBytes: 0,
      cursor: 0,
      failures: [],
      errorMessage: {},
    };
    await jobs.create(record);
    await startJob(record.id);
    return { id: record.id, alias: record.alias };
  };

  /** Stops the running job a request names. */
  const stop = async (kind: JobKind, names: Record<string, unknown>) => {
    const record = await findJob(kind, names);
    if (record?.state !== "RUNNING") throw new AdminError(410, "The job does not exist or has already finished");
    const stopped = await jobs.update(record.id, (r) =>
      r.state === "RUNNING" ? { ...r, state: "STOPPED", endTime: new Date().toISOString() } : undefined,
    );
    return { id: stopped.id, state: stopped.state };
  };

  /** A job's progress, or the list of its kind's jobs (after `lastKey`, at most `count`). */
  const progress = async (kind: JobKind, q: Record<string, string | undefined>, names: Record<string, unknown>) => {
    if (Object.values(names).every((v) => v === undefined)) {
      const count = q.count === undefined ? Number.POSITIVE_INFINITY : Number(q.count);
      if ((!Number.isInteger(count) || count < 0) && count !== Number.POSITIVE_INFINITY) {
        throw new AdminError(400, "count must be a whole number of jobs");
      }
      const all = (await jobs.list()).filter((r) => r.kind === kind && (q.lastKey === undefined || r.id > q.lastKey));
      return { results: all.slice(0, count).map(shown) };
    }
    const record = await findJob(kind, names);
    if (!record) throw new AdminError(404, "No job found");
    return shown(record);
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
        const body = await jsonBody(req);
        const index = stringField(body, "index");
        const alias = stringField(body, "alias");
        const paths = body.paths;
        if (paths !== undefined && !isPathList(paths)) throw new AdminError(400, "paths must be a non-empty list of paths");
        if ((index === undefined) === (paths === undefined)) throw new AdminError(400, "Give either index or paths");
        if (alias !== undefined && paths === undefined) throw new AdminError(400, "alias goes with paths");
        const options = loadOptionsOf(body.options);
        const targets = paths ?? [index as string];
        for (const target of targets) namespacePath(target);
        return submit(
          {
            kind,
            alias: alias ?? `${kind}-${randomBytes(6).toString("hex")}`,
            paths: index === undefined ? targets : [],
            index: index ?? "",
            options,
          },
          (r) => (index !== undefined ? r.index === index : alias !== undefined ? r.alias === alias : samePaths(r.paths, targets)),
        );
      }),
    );
    app.delete(
      `/api/v1/${kind}`,
      handle(async (req) => stop(kind, await jsonBody(req))),
    );
  };
  jobEndpoints("load");
  jobEndpoints("free");

  // Rebalance (target: a cache node id or ALL), and clear stale cache (a rebalance that only prunes, on every node).
  const targetOf = (value: unknown): string => {
    if (value === undefined || value === null || value === "") throw new AdminError(400, "Give target: a cache node id or ALL");
    if (typeof value !== "string") throw new AdminError(400, "target must be a string");
    if (value !== "ALL" && !client.membership.member(value)) throw new AdminError(400, `No cache node ${value}`);
    return value;
  };
  const rebalance = (target: string, options: JobOptions) =>
    submit(
      { kind: "rebalance", alias: target, paths: ["/"], index: "", options },
      (r) => r.alias === target && !!r.options.pruneOnly === !!options.pruneOnly && r.options.decommission === options.decommission,
    );
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
      const body = await jsonBody(req);
      const given = (body.options ?? {}) as Record<string, unknown>;
      const options = loadOptionsOf({
        ...given,
        batchSize: given.loadBatchSize ?? given.batchSize,
        bandwidth: given.loadBandwidth ?? given.bandwidth,
      });
      return rebalance(targetOf(body.target), options);
    }),
  );
  app.delete(
    "/api/v1/rebalance",
    handle(async (req) => {
      const body = await jsonBody(req);
      return stop("rebalance", { id: body.id, alias: body.target });
    }),
  );
  app.post(
    "/api/v1/cache",
    handle(async () => ({ errors: {}, ...(await rebalance("ALL", { pruneOnly: true })) })),
  );

  // Cache nodes.
  app.get(
    "/api/v1/nodes",
    handle(async () => ({
      results: client.membership.members().map((m) => ({
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
      const id = q.id ?? stringField(await jsonBody(req), "id");
      if (!id) throw new AdminError(400, "Give the id of the cache node to decommission");
      const member = client.membership.member(id);
      if (!member) throw new AdminError(404, `No cache node ${id}`);
      if (client.membership.members().filter((m) => m.state !== "DECOMMISSIONING").length <= 1) {
        throw new AdminError(409, `Cannot decommission ${id}: it is the last cache node`);
      }
      if (member.state !== "DECOMMISSIONING") await request(client.nc, cacheNode(id).decommission, {});
      return { node: id, ...(await rebalance("ALL", { decommission: id })) };
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
        const policy: Policy = { ...make(await jsonBody(req)), kind, createdMs: Date.now() };
        await policies.put(policy);
        return policy;
      }),
    );
    app.delete(
      `/api/v1/${name}`,
      handle(async (req) => {
        const body = await jsonBody(req);
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
  const indexKey = (path: string) => createHash("sha256").update(path).digest("hex").slice(0, 40);
  const pathsOf = (body: Record<string, unknown>): string[] => {
    if (!isPathList(body.paths)) throw new AdminError(400, "paths must be a non-empty list of paths");
    return body.paths.map(namespacePath);
  };
  const indexed = async (): Promise<string[]> => {
    const paths: string[] = [];
    for (const entry of await entriesOf(fileIndex)) paths.push((entry.json() as { path: string }).path);
    return paths.sort();
  };
  app.get(
    "/api/v1/file_index",
    handle(async () => {
      const files = await Promise.all(
        (await indexed()).map(async (path) => ({ path, info: await client.find(path).catch(() => undefined) })),
      );
      const ranges = files.flatMap(({ info }, i) =>
        info?.type === "file" ? FileSystemClient.blocksOf(info).map(({ range }) => ({ file: i, range })) : [],
      );
      const holders = files.map(() => new Map<string, number>());
      await Promise.all(
        client.membership.members().map(async (m) => {
          const { held } = await request(client.nc, cacheNode(m.id).held, { ranges: ranges.map((r) => r.range) });
          held.forEach((h, k) => {
            const at = holders[(ranges[k] as { file: number }).file] as Map<string, number>;
            if (h) at.set(m.id, (at.get(m.id) ?? 0) + 1);
          });
        }),
      );
      return {
        results: files.map(({ path, info }, i) => {
          if (info?.type !== "file") return { path, missing: true };
          const blocks = Math.ceil(info.size / info.blockSize);
          const nodes = [...(holders[i] as Map<string, number>)].filter(([, n]) => n === blocks).map(([id]) => id);
          return { path, size: info.size, cached: nodes.length > 0 || info.size === 0, nodes: nodes.sort() };
        }),
      };
    }),
  );
  app.post(
    "/api/v1/file_index",
    handle(async (req) => {
      let added = 0;
      for (const location of pathsOf(await jsonBody(req))) {
        for await (const file of client.walk(location)) {
          if ((await whenJetStreamReady(() => fileIndex.get(indexKey(file.path))))?.operation === "PUT") continue;
          const entry = JSON.stringify({ path: file.path, addedMs: Date.now() });
          await whenJetStreamReady(() => fileIndex.put(indexKey(file.path), entry));
          added++;
        }
      }
      return { added };
    }),
  );
  app.delete(
    "/api/v1/file_index",
    handle(async (req) => {
      const bases = pathsOf(await jsonBody(req));
      let removed = 0;
      for (const path of await indexed()) {
        if (!bases.some((base) => isWithin(path, base))) continue;
        await whenJetStreamReady(() => fileIndex.delete(indexKey(path)));
        removed++;
      }
      return { removed };
    }),
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
      const body = await jsonBody(req);
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
      const path = stringField(await jsonBody(req), "path");
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
