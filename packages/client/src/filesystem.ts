import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  type Action,
  type ClusterKey,
  DataRequestSigner,
  isAllowed,
  PageSealer,
  type PolicyContext,
  type Principal,
  type Subject,
} from "@koine/access";
import { keepTrying, type NatsConnection, type Retrying, request, type Subscription, subscribe } from "@koine/bus";
import { serviceLogger } from "@koine/log";
import {
  bytesLocation,
  type CompletePlan,
  cacheNode,
  DEFAULT_BLOCK_SIZE,
  ErrorCode,
  Events,
  type FileAttributes,
  type FileInfo,
  joinPath,
  KoineError,
  type ListKeysReply,
  type ListVersionsReply,
  type LoadMetadata,
  locate,
  MEMBER_TTL_MS,
  Meta,
  type Mount,
  objectLocation,
  type PersistenceState,
  parsePath,
  type ReadRange,
  type ReplyOf,
  type UfsLocation,
  type Upload,
  type UploadPart,
  type WriteCondition,
  type WrittenData,
} from "@koine/protocol";
import { asChunks, type DataNode, HttpDataNode, LocalPageFiles, type LocalPages, NodeUnreachableError, PageFileNode } from "./data_node.ts";
import { Membership } from "./membership.ts";
import { Policies } from "./policies.ts";
import { MetadataShards } from "./shards.ts";

/** How long a node that failed to answer is passed over (as long as a silent member takes to leave the ring). */
const SUSPECT_MS = MEMBER_TTL_MS;
/** The shared client's own log lines (service "client"), in whichever service it runs. */
const logger = serviceLogger("client");
/** How long a stat may be served from the front-end's cache without an event. */
export const DEFAULT_STAT_CACHE_MS = 5_000;

/**
 * Where a write's bytes must be before it returns (Alluxio's write types):
 * CACHE_THROUGH the under-store and the cache, THROUGH the under-store
 * only, MUST_CACHE the cache only (never persisted), ASYNC_THROUGH the
 * cache now and the under-store later, by a job.
 */
export type WriteType = "MUST_CACHE" | "CACHE_THROUGH" | "THROUGH" | "ASYNC_THROUGH";
export const WRITE_TYPES: readonly WriteType[] = ["MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"];

/** Whether a read keeps what it fetches from the under-store: NO_CACHE does not; CACHE and CACHE_PROMOTE do. */
export type ReadType = "NO_CACHE" | "CACHE" | "CACHE_PROMOTE";
export const READ_TYPES: readonly ReadType[] = ["NO_CACHE", "CACHE", "CACHE_PROMOTE"];

/** How far a namespace call trusts what metadata holds (see the metadata service's sync). */
export interface SyncOptions {
  loadMetadata?: LoadMetadata;
  syncIntervalMs?: number;
}

export interface FileSystemClientOptions {
  nc: NatsConnection;
  /** The key every service shares: requests to cache nodes are signed with it. */
  clusterKey: ClusterKey;
  /** CA certificates trusted for cache nodes that serve HTTPS (besides the system's). */
  tlsCa?: Buffer | undefined;
  /** Size of the blocks new files are split into for placement. */
  blockSize?: number;
  /** Cache nodes in this process, reached without HTTP. */
  localNodes?: ReadonlyMap<string, DataNode>;
  /** Cache nodes on this host in other processes: their page files are read here, without HTTP. */
  localPages?: ReadonlyMap<string, LocalPages>;
  statCacheMs?: number;
}

/** How long a stat under way is shared with new callers of the same path. */
const STAT_JOIN_MS = 100;

/** Runs `call` again, with growing pauses, while it fails for want of an answer (UNAVAILABLE, TIMEOUT). */
async function withRetries<T>(call: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const transient = err instanceof KoineError && (err.code === ErrorCode.Unavailable || err.code === ErrorCode.Timeout);
      if (!transient || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

/**
 * The one file-system client every front-end uses: namespace calls over
 * NATS, placement of blocks on cache nodes, bytes over HTTP streams.
 */
export class FileSystemClient {
  readonly nc: NatsConnection;
  readonly blockSize: number;
  readonly membership = new Membership();
  readonly #localNodes: ReadonlyMap<string, DataNode>;
  readonly #localPages: ReadonlyMap<string, LocalPageFiles>;
  readonly #httpNodes = new Map<string, HttpDataNode>();
  readonly #statCache = new Map<string, { info: FileInfo; atMs: number }>();
  /** Stats of the cache's kind under way: callers who find none cached wait for the same answer. */
  readonly #statting = new Map<string, { answer: Promise<FileInfo>; sinceMs: number }>();
  readonly #statCacheMs: number;
  /** Unknown until metadata first answers. */
  /** Where each request to metadata goes, and every shard's mount table. */
  readonly shards: MetadataShards;
  #loadingMounts: Retrying | undefined;
  #events: Subscription | undefined;
  #mountEvents: Subscription | undefined;
  /** The cache policies; the cache filters say how long metadata of a path may be trusted. */
  policies!: Policies;
  /** Nodes that failed to answer recently, with when to try them again. */
  readonly #suspects = new Map<string, number>();
  readonly #signer: DataRequestSigner;
  readonly #tlsCa: Buffer | undefined;

  private constructor(options: FileSystemClientOptions) {
    this.nc = options.nc;
    this.#tlsCa = options.tlsCa;
    this.#signer = new DataRequestSigner(options.clusterKey);
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.#localNodes = options.localNodes ?? new Map();
    const sealer = new PageSealer(options.clusterKey);
    this.#localPages = new Map([...(options.localPages ?? [])].map(([id, pages]) => [id, new LocalPageFiles(pages, sealer)]));
    this.#statCacheMs = options.statCacheMs ?? DEFAULT_STAT_CACHE_MS;
    this.shards = new MetadataShards(options.nc);
  }

  /**
   * Connects the client: mount table, membership view, change events. When
   * metadata does not answer, the client opens all the same and asks for the
   * mount table again every second; until it has one, every call that needs
   * it is UNAVAILABLE.
   */
  static async open(options: FileSystemClientOptions): Promise<FileSystemClient> {
    const client = new FileSystemClient(options);
    client.#events = subscribe(client.nc, Events.changed, ({ paths, trees }) => {
      for (const p of paths) client.#forgetEntry(p);
      for (const t of trees) client.#forget(t);
    });
    client.#mountEvents = subscribe(client.nc, Events.mountsChanged, (changed) => {
      client.shards.learn(changed);
    });
    await client.membership.start(client.nc);
    client.policies = await Policies.open(client.nc);
    client.#loadingMounts = keepTrying(
      async () => {
        // What a change event said meanwhile is newer.
        await client.shards.loadMounts({ keep: true });
      },
      { onFailure: (err, n) => n === 1 && logger.warn({ cause: (err as Error).message }, "metadata does not answer; retrying") },
    );
    await client.#loadingMounts.firstAttempt;
    return client;
  }

  #mountTable(): Mount[] {
    const mounts = this.shards.mounts();
    if (mounts === undefined)
      throw new KoineError(ErrorCode.Unavailable, "Cannot resolve paths yet: metadata has not answered since start");
    return mounts;
  }

  async close(): Promise<void> {
    this.#loadingMounts?.stop();
    this.#events?.unsubscribe();
    this.#mountEvents?.unsubscribe();
    this.policies.close();
    this.membership.stop();
    await Promise.all([...this.#httpNodes.values()].map((n) => n.close()));
  }

  /** Drops what the stat cache holds for `path` (not below it). */
  forget(path: string): void {
    this.#forgetEntry(path);
  }

  /** Drops one entry (and its "dir/" spelling), in O(1); a stat of it under way is neither joined nor kept. */
  #forgetEntry(path: string): void {
    for (const key of [path, `${path}/`]) {
      this.#statCache.delete(key);
      this.#statting.delete(key);
    }
  }

  /** Drops an entry and everything cached below it. */
  #forget(path: string): void {
    for (const cache of [this.#statCache, this.#statting]) {
      for (const key of cache.keys()) {
        if (key === path || key.startsWith(`${path}/`)) cache.delete(key);
      }
    }
  }

  #remember(path: string, info: FileInfo): void {
    if (this.#statCache.size > 100_000) this.#statCache.clear();
    this.#statCache.set(path, { info, atMs: Date.now() });
  }

  /**
   * The file or directory at `path` (a path ending in "/" names a
   * directory). With sync options, metadata is asked (and checks the
   * under-store as they say), never this client's cache.
   */
  async stat(path: string, requested?: SyncOptions): Promise<FileInfo> {
    const sync = requested && Object.keys(requested).length > 0 ? requested : undefined;
    // A cache filter: an immutable path is never compared with its under-store again, a maxAge one once that old.
    const filter = sync ? undefined : this.policies.filterFor(path);
    const filtered: SyncOptions | undefined =
      filter?.filter === "immutable"
        ? { syncIntervalMs: -1 }
        : filter?.filter === "maxAge"
          ? { syncIntervalMs: filter.maxAgeMs ?? 0 }
          : undefined;
    const maxAge = filter?.filter === "maxAge" ? Math.min(this.#statCacheMs, filter.maxAgeMs ?? 0) : this.#statCacheMs;
    if (sync) {
      const info = await this.shards.request(Meta.stat, { path, ...sync }, path);
      this.#remember(path, info);
      return info;
    }
    const cached = this.#statCache.get(path);
    if (cached && Date.now() - cached.atMs < maxAge) return cached.info;
    const underWay = this.#statting.get(path);
    if (underWay && Date.now() - underWay.sinceMs < STAT_JOIN_MS) return underWay.answer;
    // Callers within STAT_JOIN_MS share one request (not longer: one sent just before the NATS connection went would
    // hold every later caller until it timed out). A change event drops it: later callers ask anew, and its answer,
    // which may predate the change, is not cached; nor is one that a newer request replaced.
    const asking = { answer: this.shards.request(Meta.stat, { path, ...filtered }, path), sinceMs: Date.now() };
    const mine = () => this.#statting.get(path) === asking;
    asking.answer.then(
      (info) => {
        if (!mine()) return;
        this.#statting.delete(path);
        this.#remember(path, info);
      },
      () => {
        if (mine()) this.#statting.delete(path);
      },
    );
    this.#statting.set(path, asking);
    return asking.answer;
  }

  /** Stat after comparing `path` with its under-store now: for a version that turned out stale. */
  refresh(path: string): Promise<FileInfo> {
    return this.stat(path, { loadMetadata: "ALWAYS" });
  }

  /** Like {@link stat}, but undefined when nothing is at `path`. */
  async find(path: string, sync?: SyncOptions): Promise<FileInfo | undefined> {
    try {
      return await this.stat(path, sync);
    } catch (err) {
      if (err instanceof KoineError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    }
  }

  /** A directory's entries, in index order ("name" for a file, "name/" for a directory); "/" merged from every shard. */
  async list(
    path: string,
    options: { recursive?: boolean; after?: string; limit?: number } & SyncOptions = {},
  ): Promise<ReplyOf<typeof Meta.list>> {
    if (path.replace(/\/+$/, "") !== "" || this.shards.count === 1) return this.shards.request(Meta.list, { path, ...options }, path);
    // Each shard holds its own top-level entries: their first pages, merged, are the root's first page.
    const replies = await this.shards.all(Meta.list, { path, ...options });
    const topLevel = (entry: FileInfo) => {
      const [first = "", ...below] = entry.path.slice(1).split("/");
      return below.length > 0 || entry.type === "directory" ? `${first}/` : first;
    };
    const entries = replies.flatMap((reply) => reply.entries);
    // Stable: a shard's walk below one top-level directory stays in its order.
    entries.sort((a, b) => (topLevel(a) < topLevel(b) ? -1 : topLevel(a) > topLevel(b) ? 1 : 0));
    const limit = options.limit ?? 10_000;
    return { entries: entries.slice(0, limit), truncated: entries.length > limit || replies.some((reply) => reply.truncated) };
  }

  /** Every file at or below `path`, directory by directory in name order, a page of a listing at a time. */
  async *walk(path: string, sync: SyncOptions = {}): AsyncGenerator<FileInfo> {
    const info = await this.stat(path, sync);
    if (info.type === "file") {
      yield info;
      return;
    }
    let after: string | undefined;
    for (;;) {
      const page = await this.list(info.path, { limit: 1000, ...(after === undefined ? {} : { after }), ...sync });
      for (const entry of page.entries) {
        if (entry.type === "file") yield entry;
        else yield* this.walk(entry.path, sync);
      }
      if (!page.truncated || page.entries.length === 0) return;
      after = page.entries[page.entries.length - 1]?.name;
    }
  }

  /** The namespace path of a location given as a path ("/data/x") or as an under-store URI of a mount ("s3://bucket/x"). */
  namespacePathOf(location: string): string {
    const path = this.#namespacePathOf(location);
    parsePath(path); // no NUL, no bucket named "", "." or ".."
    return path;
  }

  #namespacePathOf(location: string): string {
    if (location.startsWith("/")) return location;
    for (const m of this.#mountTable()) {
      const base = m.uri.replace(/\/+$/, "");
      if (location === base || location.startsWith(`${base}/`)) {
        const below = location.slice(base.length).replace(/\/+$/, "");
        return `${m.path === "/" ? "" : m.path}${below}` || "/";
      }
    }
    throw new KoineError(ErrorCode.InvalidArgument, `${location} is neither a path nor in a mounted under-store`);
  }

  /**
   * Refuses (PERMISSION_DENIED) unless `principal` may do `action` on
   * `path`: the one decision of @koine/access, on the path, the directory
   * that holds it and its bucket, as this client knows them.
   */
  async authorize(principal: Principal, action: Action, path: string, context?: PolicyContext): Promise<void> {
    if (principal.admin) return;
    if (isAllowed(principal, action, await this.#subjectOf(path), context)) return;
    const who = principal.anonymous ? "Anonymous users" : `User ${principal.user}`;
    throw new KoineError(ErrorCode.PermissionDenied, `${who} may not ${action} on "${path}"`);
  }

  /** What a decision on `path` looks at: its entry, the nearest explicit directory above it, its top-level directory, every directory above it. */
  async #subjectOf(path: string): Promise<Subject> {
    // Every name counts ("a//b" is no "a/b"), and so does a trailing "/": the folder object "dir/" is a key of its own.
    const { segments } = parsePath(path);
    const target = await this.find(path);
    const bucket = segments.length === 0 ? undefined : segments.length === 1 ? target : await this.find(joinPath(segments.slice(0, 1)));
    const ancestors: FileInfo[] = [];
    let container: FileInfo | undefined;
    for (let depth = segments.length - 1; depth > 0; depth--) {
      const dir = depth === 1 ? bucket : await this.find(joinPath(segments.slice(0, depth), true));
      if (dir?.type !== "directory") continue;
      ancestors.push(dir);
      if (container === undefined && !dir.implicit) container = dir;
    }
    return { path, target, container: container ?? (await this.stat("/")), bucket, ancestors };
  }

  listKeys(bucket: string, options: { prefix: string; delimiter: string; startAfter: string; maxKeys: number }): Promise<ListKeysReply> {
    return this.shards.request(Meta.listKeys, { bucket, ...options }, `/${bucket}`);
  }

  /** S3 ListObjectVersions of `bucket`. */
  listVersions(
    bucket: string,
    options: { prefix: string; delimiter: string; keyMarker: string; versionIdMarker: string; maxKeys: number },
  ): Promise<ListVersionsReply> {
    return this.shards.request(Meta.listVersions, { bucket, ...options }, `/${bucket}`);
  }

  /** The version of `path` with S3 id `versionId` (current or not; a delete marker too). */
  getVersion(path: string, versionId: string): Promise<FileInfo> {
    return this.shards.request(Meta.getVersion, { path, versionId }, path);
  }

  /**
   * S3 DeleteObject: in a bucket with versioning, a delete marker (without
   * `versionId`) or one version gone for good; else the file.
   */
  async deleteObject(
    path: string,
    options: { versionId?: string | undefined; bypassGovernance?: boolean } = {},
  ): Promise<{ versionId: string; deleteMarker: boolean }> {
    const { versionId, bypassGovernance } = options;
    const request = { path, ...(versionId === undefined ? {} : { versionId }), ...(bypassGovernance ? { bypassGovernance } : {}) };
    const reply = await this.shards.request(Meta.deleteObject, request, path);
    this.#forget(path);
    return reply;
  }

  async mkdir(path: string, options: { recursive?: boolean; exclusive?: boolean; owner?: string; group?: string; mode?: number } = {}) {
    const info = await this.shards.request(Meta.mkdir, { path, ...options }, path);
    this.#forgetEntry(info.path);
    return info;
  }

  async delete(path: string, options: { recursive?: boolean; pruneImplicitParents?: boolean; fileOnly?: boolean } = {}) {
    const reply = await this.shards.request(Meta.delete, { path, ...options }, path);
    this.#forget(path.endsWith("/") ? path.slice(0, -1) : path);
    return reply.deleted;
  }

  async rename(src: string, dst: string): Promise<FileInfo> {
    // The shard of `src` refuses a `dst` of another shard.
    const info = await this.shards.request(Meta.rename, { src, dst }, src);
    this.#forget(src);
    this.#forget(dst);
    return info;
  }

  /** Sets attributes of `path`, or of one S3 version of it (its tags, grants, retention, legal hold). */
  async setAttributes(
    path: string,
    attributes: FileAttributes,
    version?: { versionId: string; bypassGovernance?: boolean },
  ): Promise<FileInfo> {
    const info = await this.shards.request(Meta.setAttributes, { path, attributes, ...version }, path);
    this.#forgetEntry(path);
    return info;
  }

  /** The mount table, kept current by mount events. */
  mounts(): readonly Mount[] {
    return this.#mountTable();
  }

  /** Throws PERMISSION_DENIED when `path` is on a read-only mount. */
  assertWritable(path: string): void {
    const { mountId } = this.ufsLocationOf(path);
    const mount = this.#mountTable().find((m) => m.id === mountId);
    if (mount?.readOnly) throw new KoineError(ErrorCode.PermissionDenied, `Cannot change "${path}": ${mount.uri} is mounted read-only`);
  }

  /** Mounts an under-store (`file:///dir`, `s3://bucket/prefix`) at `path`. */
  async mount(path: string, uri: string, options: { readOnly?: boolean; properties?: Record<string, string> } = {}): Promise<void> {
    this.shards.learn(await this.shards.request(Meta.mount, { path, uri, ...options }, path, { timeoutMs: 30_000 }));
    this.#forget(path);
  }

  /** Removes the mount at `path` from the namespace; its under-store keeps every byte. */
  async unmount(path: string): Promise<void> {
    this.shards.learn(await this.shards.request(Meta.unmount, { path }, path));
    this.#forget(path);
  }

  /** The mount holding `path` and the path relative to its root. */
  ufsLocationOf(path: string): UfsLocation {
    return locate(this.#mountTable(), path);
  }

  #node(id: string): DataNode {
    const local = this.#localNodes.get(id);
    if (local) return local;
    const member = this.membership.member(id);
    if (!member) throw new KoineError(ErrorCode.Unavailable, `Cache node ${id} is gone`);
    let node = this.#httpNodes.get(member.url);
    if (!node) {
      node = new HttpDataNode(member.url, this.#signer, this.#tlsCa);
      this.#httpNodes.set(member.url, node);
    }
    const pages = this.#localPages.get(id);
    return pages ? new PageFileNode(pages, node) : node;
  }

  /** Passes a node over for a while, and drops its connections (the next try connects anew, or fails fast). */
  #suspect(id: string): void {
    this.#suspects.set(id, Date.now() + SUSPECT_MS);
    const url = this.membership.member(id)?.url;
    const node = url ? this.#httpNodes.get(url) : undefined;
    if (url && node) {
      this.#httpNodes.delete(url);
      void node.destroy();
    }
  }

  /** Live nodes for `key`, owner first, recently failed ones last. */
  #candidates(key: string): string[] {
    const now = Date.now();
    const all = this.membership.ring.preferenceFor(key);
    if (all.length === 0) throw new KoineError(ErrorCode.Unavailable, "No cache node is up");
    const fresh = all.filter((id) => (this.#suspects.get(id) ?? 0) < now);
    return fresh.length > 0 ? [...fresh, ...all.filter((id) => !fresh.includes(id))] : all;
  }

  /** Runs `work` on the first node of `candidates` that can be reached. */
  async #onFirstReachable<T>(candidates: string[], work: (node: DataNode, id: string) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const id of candidates) {
      let node: DataNode;
      try {
        node = this.#node(id);
      } catch (err) {
        lastError = err;
        continue;
      }
      try {
        return await work(node, id);
      } catch (err) {
        if (!(err instanceof NodeUnreachableError)) throw err;
        this.#suspect(id);
        lastError = err;
      }
    }
    throw lastError;
  }

  static blockKey(contentId: string, index: number): string {
    return `${contentId}:${index}`;
  }

  /** Every block of a file (none when it is empty): its placement key and its range. */
  static blocksOf(file: FileInfo): { key: string; range: ReadRange }[] {
    const blocks: { key: string; range: ReadRange }[] = [];
    for (let index = 0; index * file.blockSize < file.size; index++) {
      const offset = index * file.blockSize;
      const range = FileSystemClient.rangeOf(file, offset, Math.min(file.blockSize, file.size - offset));
      blocks.push({ key: FileSystemClient.blockKey(file.contentId, index), range });
    }
    return blocks;
  }

  /** The data-plane description of `length` bytes of one version of a file, from `offset`. */
  static rangeOf(file: FileInfo, offset: number, length: number): ReadRange {
    return {
      contentId: file.contentId,
      ...bytesLocation(file),
      fingerprint: file.ufsFingerprint,
      fileSize: file.size,
      offset,
      length,
      nsPath: file.path,
    };
  }

  /**
   * The `length` bytes of `file` from `offset`, streamed block by block from
   * the node that owns each block (a buffer when one node had them at hand).
   * The first block is opened before this returns.
   */
  async read(file: FileInfo, offset = 0, length = file.size - offset, readType: ReadType = "CACHE"): Promise<Readable | Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const blockSize = file.blockSize;
    // Bytes only in the cache are read from the node that holds them, and never looked for in the under-store.
    const cacheOnly = file.persistence !== "PERSISTED";
    const first = Math.floor(offset / blockSize);
    const last = Math.floor((offset + length - 1) / blockSize);
    const open = (index: number) => {
      const start = Math.max(offset, index * blockSize);
      const end = Math.min(offset + length, (index + 1) * blockSize);
      const range: ReadRange = {
        ...FileSystemClient.rangeOf(file, start, end - start),
        ...(cacheOnly ? { cacheOnly } : {}),
        ...(readType === "NO_CACHE" ? { keep: false } : {}),
      };
      const holder = file.cachedOn?.[index];
      const candidates = cacheOnly && holder ? [holder] : this.#candidates(FileSystemClient.blockKey(file.contentId, index));
      return this.#onFirstReachable(candidates, (n) => n.read(range));
    };
    const firstBytes = await open(first);
    if (first === last) return firstBytes;
    async function* blocks() {
      yield* asChunks(firstBytes);
      for (let i = first + 1; i <= last; i++) yield* asChunks(await open(i));
    }
    return Readable.from(blocks(), { objectMode: false });
  }

  /** The same bytes as {@link read}, always as a stream: for bytes passed on as a body (a write, a part, an archive entry). */
  async readStream(file: FileInfo, offset = 0, length = file.size - offset, readType: ReadType = "CACHE"): Promise<Readable> {
    const bytes = await this.read(file, offset, length, readType);
    return Buffer.isBuffer(bytes) ? Readable.from([bytes]) : bytes;
  }

  /**
   * Writes `body` to `path` through a cache node to the under-store, then
   * commits it to the namespace: on return the bytes are durable.
   */
  async writeFile(
    path: string,
    body: AsyncIterable<Uint8Array>,
    options: {
      attributes?: FileAttributes;
      sizeHint?: number;
      createParents?: boolean;
      writeType?: WriteType;
      writer?: string;
      /** Commit only if the path holds no object, or this version (checked by metadata in the commit's turn). */
      condition?: WriteCondition;
    } = {},
  ): Promise<FileInfo> {
    const contentId = this.#contentIdFor(options.writer);
    const location = objectLocation(this.#mountTable(), path);
    const writeType = options.writeType ?? "CACHE_THROUGH";
    this.assertWritable(path);
    if (writeType === "MUST_CACHE" || writeType === "ASYNC_THROUGH") {
      const { data, cachedOn } = await this.#writeToCache(contentId, body);
      return this.#commit(path, data, options, { persistence: writeType === "MUST_CACHE" ? "NOT_PERSISTED" : "TO_BE_PERSISTED", cachedOn });
    }
    const blocks = Math.max(1, Math.ceil((options.sizeHint ?? 0) / this.blockSize));
    const ring = this.membership.ring;
    // A node that cannot be reached before the first byte is sent is passed over for the next one.
    let started = false;
    async function* tracked() {
      started = true;
      yield* body;
    }
    const candidates = this.#candidates(FileSystemClient.blockKey(contentId, 0));
    const data = await this.#onFirstReachable(candidates, async (node, writer) => {
      const cacheBlocks: number[] = [];
      for (let i = 0; i < blocks && writeType === "CACHE_THROUGH"; i++) {
        if (ring.placementFor(FileSystemClient.blockKey(contentId, i))[0] === writer) cacheBlocks.push(i);
      }
      try {
        return await node.write({ ...location, contentId, blockSize: this.blockSize, cacheBlocks, stage: true, nsPath: path }, tracked());
      } catch (err) {
        // Bytes already sent cannot be sent again: the write fails (the client may retry it), and the node is passed over for a while.
        if (err instanceof NodeUnreachableError && started) {
          this.#suspect(writer);
          throw new KoineError(ErrorCode.Unavailable, err.message, { cause: err });
        }
        throw err;
      }
    });
    return this.#commit(path, data, options, {});
  }

  /**
   * A new content id; with `writer`, one whose first block that cache node
   * owns (so the node a client wrote to, an AIS target, writes and serves
   * it), where it is on the ring.
   */
  #contentIdFor(writer: string | undefined): string {
    let contentId = randomBytes(12).toString("hex");
    const ring = this.membership.ring;
    if (writer === undefined || !ring.nodes.includes(writer)) return contentId;
    for (let i = 0; i < 256 && ring.placementFor(FileSystemClient.blockKey(contentId, 0))[0] !== writer; i++) {
      contentId = randomBytes(12).toString("hex");
    }
    return contentId;
  }

  /**
   * Cuts `body` into blocks and keeps each on the cache node that owns it
   * (pinned there); returns the data and the node of each block.
   */
  async #writeToCache(contentId: string, body: AsyncIterable<Uint8Array>): Promise<{ data: WrittenData; cachedOn: string[] }> {
    const source = body[Symbol.asyncIterator]();
    const md5 = createHash("md5");
    let carried: Buffer | undefined;
    let size = 0;
    const nextChunk = async (): Promise<Buffer | undefined> => {
      if (carried) {
        const chunk = carried;
        carried = undefined;
        return chunk;
      }
      const next = await source.next();
      return next.done ? undefined : Buffer.from(next.value);
    };
    const blockSize = this.blockSize;
    async function* block(): AsyncGenerator<Buffer> {
      let sent = 0;
      while (sent < blockSize) {
        let chunk = await nextChunk();
        if (!chunk) return;
        if (sent + chunk.length > blockSize) {
          carried = chunk.subarray(blockSize - sent);
          chunk = chunk.subarray(0, blockSize - sent);
        }
        sent += chunk.length;
        size += chunk.length;
        md5.update(chunk);
        yield chunk;
      }
    }
    const cachedOn: string[] = [];
    for (let index = 0; ; index++) {
      const [owner] = this.#candidates(FileSystemClient.blockKey(contentId, index));
      const written = await this.#node(owner as string).writeBlock({ contentId, blockIndex: index, blockSize }, block());
      cachedOn.push(owner as string);
      if (written.size < blockSize) break;
      carried ??= await nextChunk();
      if (!carried) break;
    }
    return { data: { contentId, size, etag: md5.digest("hex"), ufsFingerprint: "" }, cachedOn };
  }

  /** Commits written bytes at `path`. A commit lost to a passing outage is sent again (it is idempotent). */
  async #commit(
    path: string,
    data: WrittenData,
    options: { attributes?: FileAttributes; createParents?: boolean; condition?: WriteCondition },
    cache: { persistence?: PersistenceState; cachedOn?: string[] },
  ): Promise<FileInfo> {
    const info = await withRetries(() =>
      this.shards.request(
        Meta.commitFile,
        {
          path,
          data,
          blockSize: this.blockSize,
          attributes: options.attributes ?? {},
          createParents: options.createParents ?? true,
          ...(options.condition ? { condition: options.condition } : {}),
          ...cache,
        },
        path,
      ),
    );
    this.#forgetEntry(info.path);
    return info;
  }

  /**
   * Persists a version written ASYNC_THROUGH: its bytes go from the cache
   * to the under-store at wherever its file is now, then metadata marks it
   * persisted. Returns the file, or undefined when no file holds that
   * version unpersisted any more (replaced or deleted).
   */
  async persist(contentId: string): Promise<FileInfo | undefined> {
    let info: FileInfo;
    try {
      info = await this.shards.any(Meta.findContent, { contentId });
    } catch (err) {
      if (err instanceof KoineError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    }
    if (info.persistence === "PERSISTED") return info;
    const bytes = await this.readStream(info);
    const [writer] = this.#candidates(FileSystemClient.blockKey(contentId, 0));
    const data = await this.#node(writer as string).write(
      {
        ...bytesLocation({ type: info.type, ufs: this.ufsLocationOf(info.path) }),
        contentId,
        blockSize: info.blockSize,
        cacheBlocks: [],
        stage: true,
      },
      bytes,
    );
    return this.shards.request(Meta.persist, { contentId, data: { ...data, etag: info.etag } }, info.path, { timeoutMs: 60_000 });
  }

  /** Drops the cached pages of these contents on every live cache node; the files stay. */
  async freeCache(contentIds: string[]): Promise<number> {
    let freed = 0;
    for (const member of this.membership.members()) {
      freed += (await request(this.nc, cacheNode(member.id).free, { contentIds })).freedPages;
    }
    return freed;
  }

  createUpload(path: string, owner: string, attributes: FileAttributes, checksum?: Upload["checksum"]): Promise<Upload> {
    return this.shards.request(Meta.createUpload, { path, owner, attributes, ...(checksum ? { checksum } : {}) }, path);
  }

  getUpload(uploadId: string): Promise<Upload> {
    return this.shards.requestUpload(Meta.getUpload, { uploadId }, uploadId);
  }

  /**
   * Stages one part of a multipart upload in the under-store and records
   * it, with `checksums()`, when given, asked once the body has ended.
   */
  async uploadPart(
    upload: Upload,
    partNumber: number,
    body: AsyncIterable<Uint8Array>,
    checksums?: () => Record<string, string>,
  ): Promise<UploadPart> {
    const contentId = randomBytes(12).toString("hex");
    // Each upload of a part has its own file: of two uploads of one part at once, the record
    // journaled last names its own bytes (the last to finish wins), never the other's.
    const ufsPath = `${upload.ufs.path}/${partNumber}.${contentId}`;
    const [writer] = this.#candidates(upload.uploadId);
    const data = await this.#node(writer as string).write(
      { mountId: upload.ufs.mountId, path: ufsPath, contentId, blockSize: this.blockSize, cacheBlocks: [], stage: false },
      body,
    );
    const sums = checksums?.();
    const part: UploadPart = {
      partNumber,
      etag: data.etag,
      size: data.size,
      mtimeMs: Date.now(),
      ufsPath,
      ...(sums && Object.keys(sums).length ? { checksums: sums } : {}),
    };
    return this.shards.requestUpload(Meta.putPart, { uploadId: upload.uploadId, part }, upload.uploadId);
  }

  listParts(uploadId: string, after: number, maxParts: number) {
    return this.shards.requestUpload(Meta.listParts, { uploadId, after, maxParts }, uploadId);
  }

  listUploads(bucket: string, options: { prefix: string; keyMarker: string; uploadIdMarker: string; maxUploads: number }) {
    return this.shards.request(Meta.listUploads, { bucket, ...options }, `/${bucket}`);
  }

  /**
   * Joins the listed parts into the file, in the under-store, then commits
   * it with its parts' sizes and checksums, and what `attributesFor` the
   * plan adds (it may refuse the plan by throwing, before any byte moves).
   */
  async completeUpload(
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    options: { anySize?: boolean; attributesFor?: (plan: CompletePlan) => Promise<FileAttributes>; condition?: WriteCondition } = {},
  ): Promise<FileInfo> {
    const plan = await this.shards.requestUpload(
      Meta.planComplete,
      { uploadId, parts, ...(options.anySize ? { anySize: true } : {}) },
      uploadId,
    );
    const attributes: FileAttributes = {
      parts: plan.parts.map((p) => ({ size: p.size, ...(p.checksums ? { checksums: p.checksums } : {}) })),
      ...(await options.attributesFor?.(plan)),
    };
    const location = objectLocation(this.#mountTable(), plan.upload.path);
    const [writer] = this.#candidates(FileSystemClient.blockKey(plan.contentId, 0));
    const data = await this.#node(writer as string).concat({
      ...location,
      contentId: plan.contentId,
      sources: plan.parts.map((p) => p.ufsPath),
      stage: true,
    });
    const info = await this.shards.requestUpload(
      Meta.finishUpload,
      {
        uploadId,
        data: { ...data, etag: plan.etag },
        blockSize: this.blockSize,
        attributes,
        ...(options.condition ? { condition: options.condition } : {}),
      },
      uploadId,
      { timeoutMs: 60_000 },
    );
    this.#forgetEntry(info.path);
    return info;
  }

  abortUpload(uploadId: string): Promise<Upload> {
    return this.shards.requestUpload(Meta.abortUpload, { uploadId }, uploadId);
  }
}
