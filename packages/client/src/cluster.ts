import { createHash, randomBytes, randomUUID } from "node:crypto";
import {
  enqueue,
  entriesOf,
  Journal,
  type KV,
  LastHeard,
  listServices,
  openKv,
  request,
  type ServiceState,
  type Snapshot,
  SnapshotStore,
  whenJetStreamReady,
} from "@koine/bus";
import {
  cacheNode,
  ErrorCode,
  Events,
  FILE_INDEX_BUCKET,
  type FileInfo,
  isWithin,
  type JobKind,
  type JobOptions,
  type JobRecord,
  Jobs,
  journalOf,
  KoineError,
  METADATA_REPLICA_TTL_MS,
  METADATA_SNAPSHOTS,
  type Member,
  Meta,
  type MetadataReplica,
  type PutUserRequest,
  type ReadRange,
  replicaKey,
  snapshotPrefix,
  type User,
} from "@koine/protocol";
import { FileSystemClient } from "./filesystem.ts";
import { JobStore } from "./jobs.ts";

/** What a new job is: the rest of its record starts at zero. */
export type JobRequest = Pick<JobRecord, "kind" | "alias" | "paths" | "index" | "options">;

/** How a job is named in a request: by id, alias or index file (one of them). */
export type JobNames = Partial<Record<"id" | "alias" | "index", unknown>>;

/** A file of the file index and where it is cached whole. */
export interface IndexedFile {
  path: string;
  /** The path names no file (any more). */
  missing?: true;
  size?: number;
  cached?: boolean;
  nodes?: string[];
}

/** A shard of metadata: its journal, its newest snapshot, its replicas and how far each is behind the journal. */
export interface MetadataShardStatus {
  shard: number;
  journal: { stream: string; firstSeq: number; lastSeq: number; lastStoredMs: number };
  /** The newest snapshot of the shard (none yet: the journal holds everything). */
  snapshot?: Snapshot;
  replicas: (MetadataReplica & { behindEntries: number; behindSeconds: number; heardMsAgo: number })[];
}

/**
 * Operations on the cluster as a whole, callable by any front-end: jobs
 * (submit or resume, progress, stop; load, free, rebalance), cache nodes
 * (listing, decommission), metadata's replicas and the global file index.
 * Jobs are records in JetStream run by the job runner.
 */
export class Cluster {
  readonly client: FileSystemClient;
  readonly jobs: JobStore;
  readonly #fileIndex: KV;
  /** Metadata replicas' last heartbeats (heard until the connection closes). */
  readonly #replicas: LastHeard<typeof Events.metadataReplica>;

  private constructor(client: FileSystemClient, jobs: JobStore, fileIndex: KV) {
    this.client = client;
    this.jobs = jobs;
    this.#fileIndex = fileIndex;
    this.#replicas = new LastHeard(client.nc, Events.metadataReplica, replicaKey);
  }

  static async open(client: FileSystemClient): Promise<Cluster> {
    return new Cluster(client, await JobStore.open(client.nc), await openKv(client.nc, FILE_INDEX_BUCKET, { history: 1 }));
  }

  /**
   * Each shard of metadata: its journal, its newest snapshot, and its
   * replicas heard from lately (they say where they are every second):
   * which leads, and how far each is behind the journal, in entries and in
   * the time between the last record it applied and the journal's last.
   */
  async metadataStatus(): Promise<MetadataShardStatus[]> {
    return Promise.all(this.client.shards.indexes().map((shard) => this.#shardStatus(shard)));
  }

  async #shardStatus(shard: number): Promise<MetadataShardStatus> {
    const { stream } = journalOf(shard);
    const end = (await Journal.end(this.client.nc, stream)) ?? { firstSeq: 0, lastSeq: 0, lastStoredMs: 0 };
    const snapshots = await SnapshotStore.existing(this.client.nc, METADATA_SNAPSHOTS, snapshotPrefix(shard));
    const snapshot = (await snapshots?.list())?.at(-1);
    const now = Date.now();
    const replicas = this.#replicas
      .within(METADATA_REPLICA_TTL_MS)
      .filter(({ payload: state }) => (state.shard ?? 0) === shard)
      .map(({ payload: state, heardMs }) => {
        const behindEntries = Math.max(0, end.lastSeq - state.appliedSeq);
        const behindMs = behindEntries === 0 || state.appliedStoredMs === 0 ? 0 : Math.max(0, end.lastStoredMs - state.appliedStoredMs);
        return { ...state, behindEntries, behindSeconds: behindMs / 1000, heardMsAgo: now - heardMs };
      })
      .sort((a, b) => Number(b.leads) - Number(a.leads) || (a.replica < b.replica ? -1 : 1));
    return { shard, journal: { stream, ...end }, ...(snapshot ? { snapshot } : {}), replicas };
  }

  /** The job of `kind` a request names by id, alias or index (at most one of them). */
  async findJob(kind: JobKind, names: JobNames): Promise<JobRecord | undefined> {
    const given = (["id", "alias", "index"] as const).filter((k) => names[k] !== undefined && names[k] !== "");
    if (given.length > 1) throw new KoineError(ErrorCode.InvalidArgument, "Give at most one of id, alias and index");
    const key = given[0];
    if (!key) throw new KoineError(ErrorCode.InvalidArgument, "Give the job's id, alias or index");
    const value = String(names[key]);
    if (key === "id") {
      const record = await this.jobs.get(value);
      return record?.kind === kind ? record : undefined;
    }
    return (await this.jobs.list()).filter((r) => r.kind === kind && r[key] === value).pop();
  }

  /** The jobs of `kind` by id, after `after`, at most `count`. */
  async listJobs(kind: JobKind, after?: string, count = Number.POSITIVE_INFINITY): Promise<JobRecord[]> {
    return (await this.jobs.list()).filter((r) => r.kind === kind && (after === undefined || r.id > after)).slice(0, count);
  }

  /**
   * Starts a new job; or, when an unfinished one of the same kind for which
   * `same` holds exists, resumes it if it was stopped and answers it
   * (`existing`: nothing new was started).
   */
  async submitJob(job: JobRequest, same: (r: JobRecord) => boolean): Promise<{ id: string; alias: string; existing: boolean }> {
    const earlier = (await this.jobs.list()).find((r) => r.kind === job.kind && r.state !== "SUCCEEDED" && r.state !== "FAILED" && same(r));
    if (earlier) {
      if (earlier.state === "STOPPED") {
        await this.jobs.update(earlier.id, (r) => {
          const { endTime: _endTime, ...rest } = r;
          return { ...rest, state: "RUNNING" };
        });
        await this.#run(earlier.id);
      }
      return { id: earlier.id, alias: earlier.alias, existing: true };
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
    await this.jobs.create(record);
    await this.#run(record.id);
    return { id: record.id, alias: record.alias, existing: false };
  }

  #run(id: string) {
    return enqueue(this.client.nc, Jobs.run, { jobId: id }, `run-${id}-${randomBytes(4).toString("hex")}`);
  }

  /** Stops the running job a request names; undefined when there is none running. */
  async stopJob(kind: JobKind, names: JobNames): Promise<JobRecord | undefined> {
    const record = await this.findJob(kind, names);
    if (record?.state !== "RUNNING") return undefined;
    return this.jobs.update(record.id, (r) =>
      r.state === "RUNNING" ? { ...r, state: "STOPPED", endTime: new Date().toISOString() } : undefined,
    );
  }

  /** Moves cached blocks to their owners on the ring (target: a cache node id, or ALL); the same unfinished rebalance is answered instead. */
  rebalance(target: string, options: JobOptions): Promise<{ id: string; alias: string; existing: boolean }> {
    if (target !== "ALL" && !this.client.membership.member(target))
      throw new KoineError(ErrorCode.InvalidArgument, `No cache node ${target}`);
    return this.submitJob(
      { kind: "rebalance", alias: target, paths: ["/"], index: "", options },
      (r) => r.alias === target && !!r.options.pruneOnly === !!options.pruneOnly && r.options.decommission === options.decommission,
    );
  }

  /** Every service announced (`announceService`): UP, or DOWN once silent. */
  services(): Promise<ServiceState[]> {
    return listServices(this.client.nc);
  }

  /** The cache nodes in this client's view. */
  nodes(): Member[] {
    return this.client.membership.members();
  }

  /** Takes a cache node off the ring and moves its blocks to their new owners (a rebalance); it leaves once they are there. */
  async decommission(id: string): Promise<{ node: string; id: string; alias: string; existing: boolean }> {
    const member = this.client.membership.member(id);
    if (!member) throw new KoineError(ErrorCode.NotFound, `No cache node ${id}`);
    if (this.nodes().filter((m) => m.state !== "DECOMMISSIONING").length <= 1) {
      throw new KoineError(ErrorCode.FailedPrecondition, `Cannot decommission ${id}: it is the last cache node`);
    }
    if (member.state !== "DECOMMISSIONING") await request(this.client.nc, cacheNode(id).decommission, {});
    return { node: id, ...(await this.rebalance("ALL", { decommission: id })) };
  }

  /** Adds the files at or below each namespace path to the file index; how many were new. */
  /** Every user, without secrets. */
  async users(): Promise<User[]> {
    return (await request(this.client.nc, Meta.listUsers, {})).users;
  }

  /** Adds a user or replaces one (secret, groups, admin flag). */
  putUser(user: PutUserRequest): Promise<User> {
    return request(this.client.nc, Meta.putUser, user);
  }

  removeUser(accessKey: string): Promise<User> {
    return request(this.client.nc, Meta.removeUser, { accessKey });
  }

  async indexFiles(paths: readonly string[]): Promise<number> {
    let added = 0;
    for (const location of paths) {
      for await (const file of this.client.walk(location)) {
        const key = indexKey(file.path);
        if ((await whenJetStreamReady(() => this.#fileIndex.get(key)))?.operation === "PUT") continue;
        const entry = JSON.stringify({ path: file.path, addedMs: Date.now() });
        await whenJetStreamReady(() => this.#fileIndex.put(key, entry));
        added++;
      }
    }
    return added;
  }

  /** Removes the indexed files at or below each namespace path; how many went. */
  async unindexFiles(bases: readonly string[]): Promise<number> {
    let removed = 0;
    for (const path of await this.#indexed()) {
      if (!bases.some((base) => isWithin(path, base))) continue;
      await whenJetStreamReady(() => this.#fileIndex.delete(indexKey(path)));
      removed++;
    }
    return removed;
  }

  /** Every indexed file, in path order, with the cache nodes that hold all of its blocks. */
  async indexedFiles(): Promise<IndexedFile[]> {
    const client = this.client;
    const files = await Promise.all(
      (await this.#indexed()).map(async (path) => ({ path, info: await client.find(path).catch(() => undefined) })),
    );
    const ranges = files.flatMap(({ info }, i) =>
      info?.type === "file" ? FileSystemClient.blocksOf(info).map(({ range }) => ({ file: i, range })) : [],
    );
    const held = await this.#holders(ranges.map((r) => r.range));
    return files.map(({ path, info }, i) => {
      if (info?.type !== "file") return { path, missing: true };
      // The nodes that hold every block of the file.
      const blocks = held.filter((_, k) => ranges[k]?.file === i);
      const nodes =
        blocks.length === 0
          ? []
          : this.nodes()
              .map((m) => m.id)
              .filter((id) => blocks.every((holders) => holders.includes(id)));
      return { path, size: info.size, cached: nodes.length > 0 || info.size === 0, nodes: nodes.sort() };
    });
  }

  /**
   * Each block of `info`'s bytes: its range, the cache node that owns it on
   * the ring now (where reads and loads put it), and the nodes that hold it.
   */
  async blocksOf(
    info: FileInfo,
  ): Promise<{ index: number; offset: number; length: number; owner: string | undefined; holders: string[] }[]> {
    const blocks = FileSystemClient.blocksOf(info);
    const held = await this.#holders(blocks.map((b) => b.range));
    return blocks.map(({ key, range }, index) => ({
      index,
      offset: range.offset,
      length: range.length,
      owner: this.client.membership.ring.placementFor(key)[0],
      holders: held[index] ?? [],
    }));
  }

  /** Which live cache nodes hold each of these ranges (every node asked). */
  async #holders(ranges: ReadRange[]): Promise<string[][]> {
    const holders = ranges.map((): string[] => []);
    await Promise.all(
      this.nodes().map(async (m) => {
        const { held } = await request(this.client.nc, cacheNode(m.id).held, { ranges });
        held.forEach((h, k) => {
          if (h) holders[k]?.push(m.id);
        });
      }),
    );
    return holders.map((h) => h.sort());
  }

  async #indexed(): Promise<string[]> {
    const paths: string[] = [];
    for (const entry of await entriesOf(this.#fileIndex)) paths.push((entry.json() as { path: string }).path);
    return paths.sort();
  }
}

/** A file index key: paths may hold what KV keys cannot. */
function indexKey(path: string): string {
  return createHash("sha256").update(path).digest("hex").slice(0, 40);
}
