import { type NatsConnection, publish, Responder } from "@koine/bus";
import type { Logger } from "@koine/log";
import {
  canonicalPath,
  ErrorCode,
  Events,
  type FileInfo,
  isWithin,
  KoineError,
  type Mount,
  type ReplyOf,
  type RequestOf,
  type Rpc,
  shardEndpoint,
  shardOf,
  shardOfUpload,
} from "@koine/protocol";
import { UfsError, type UfsRegistry, type UnderFileSystem } from "@koine/ufs";
import type { Intents } from "./intents.ts";
import type { InodeRecord, Namespace } from "./namespace.ts";
import type { UfsSync } from "./sync.ts";

/**
 * Where a test may have metadata kill itself (`KOINE_METADATA_CRASH`), between
 * the two sides of a change: the under-store changed and the journal not yet
 * (a write published, a rename), or the other way round (a delete).
 */
export const CRASH_POINTS = ["after-ufs-publish", "after-ufs-rename", "after-journal-delete"] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/**
 * What every concern of the metadata service works with: the namespace,
 * the under-stores, NATS (requests in, events out) and the checks every
 * change makes. Each concern (tree, commits, mounts, users, uploads, TTLs)
 * registers its handlers with {@link Metadata.on}.
 */
export class Metadata {
  readonly ns: Namespace;
  readonly stores: UfsRegistry;
  readonly sync: UfsSync;
  readonly nc: NatsConnection;
  readonly log: Logger;
  /** Under-store changes under way, journaled so that the next leader can finish what this one may not. */
  readonly intents: Intents;
  /** The shard this namespace is, of how many. */
  readonly shard: Shard;
  readonly #crashAt: CrashPoint | undefined;
  readonly #responder: Responder;

  constructor(
    ns: Namespace,
    stores: UfsRegistry,
    sync: UfsSync,
    nc: NatsConnection,
    log: Logger,
    options: { intents: Intents; shard?: Shard; crashAt?: CrashPoint | undefined },
  ) {
    this.ns = ns;
    this.stores = stores;
    this.sync = sync;
    this.nc = nc;
    this.log = log;
    this.intents = options.intents;
    this.shard = options.shard ?? { index: 0, count: 1 };
    this.#crashAt = options.crashAt;
    // A plain subscription, not a queue group: a NATS server picks one member of a queue group, and may pick the
    // subscription this process left behind a server that was cut off (until that route is found dead, which can
    // take minutes while traffic flows), so every request would be lost; a plain one reaches wherever it is now.
    this.#responder = new Responder(nc, { onInternalError: (err, subject) => log.error({ err, subject }, "request failed") });
  }

  /**
   * Answers `endpoint` (as this shard answers it); pin changes the handler
   * made are published once it is done. A request for paths of another
   * shard is refused.
   */
  on<R extends Rpc>(endpoint: R, handler: (request: RequestOf<R>) => Promise<ReplyOf<R>> | ReplyOf<R>): void {
    this.#responder.on(shardEndpoint(endpoint, this.shard.index), async (request) => {
      const started = performance.now();
      try {
        this.#checkShard(request as Routed);
        return await handler(request);
      } finally {
        this.publishPins();
        this.log.debug({ subject: endpoint.subject, ms: Math.round((performance.now() - started) * 10) / 10 }, "request");
      }
    });
  }

  /** Whether `path` is this shard's ("/" is every shard's: each holds its own part of the root). */
  owns(path: string): boolean {
    return canonicalPath(path) === "/" || shardOf(path, this.shard.count) === this.shard.index;
  }

  #checkShard(request: Routed): void {
    const { index, count } = this.shard;
    if (count === 1) return;
    const paths = [request.path, request.src, request.bucket === undefined ? undefined : `/${request.bucket}`];
    const foreign = paths.find((p) => typeof p === "string" && !this.owns(p));
    const upload = typeof request.uploadId === "string" && shardOfUpload(request.uploadId, count) !== index;
    if (foreign !== undefined || upload)
      throw new KoineError(ErrorCode.InvalidArgument, `Metadata shard ${index} of ${count} does not hold ${foreign ?? request.uploadId}`);
    if (typeof request.dst === "string" && !this.owns(request.dst))
      throw new KoineError(
        ErrorCode.InvalidArgument,
        `Cannot rename ${request.src} to ${request.dst}: they are in different metadata shards (a rename stays within its top-level directory's shard)`,
      );
  }

  /** Kills this process at `point` when a test asked for it there ({@link CRASH_POINTS}). */
  crashPoint(point: CrashPoint): void {
    if (this.#crashAt === point) {
      this.log.warn({ point }, "crashing, as KOINE_METADATA_CRASH asks");
      process.kill(process.pid, "SIGKILL");
    }
  }

  /** Stops answering requests. */
  close(): void {
    this.#responder.close();
  }

  /** Stops answering requests for now (this replica may no longer lead); {@link resume} answers again. */
  pause(): void {
    this.#responder.pause();
  }

  resume(): void {
    this.#responder.resume();
  }

  ufsOf(mountId: string): Promise<UnderFileSystem> {
    return this.stores.get(mountId);
  }

  /** Removes the under-store directories of implicit parents a delete left empty (one with other content stays). */
  async removePruned(dirs: readonly string[]): Promise<void> {
    for (const dir of dirs) {
      const at = this.ns.ufsLocationOf(dir);
      await (await this.ufsOf(at.mountId)).delete(at.path, { directory: true }).catch(() => {});
    }
  }

  /** Tells every client these paths changed. */
  changed(...paths: string[]): void {
    publish(this.nc, Events.changed, { paths, trees: [] });
  }

  /** Tells every client these trees changed, and everything below them. */
  changedTrees(...trees: string[]): void {
    publish(this.nc, Events.changed, { paths: trees, trees });
  }

  /** Tells the cache nodes which contents became pinned or unpinned. */
  publishPins(): void {
    const changes = this.ns.takePinChanges();
    if (changes.length === 0) return;
    publish(this.nc, Events.pinsChanged, {
      pinned: changes.filter((c) => c.pinned).map((c) => c.contentId),
      unpinned: changes.filter((c) => !c.pinned).map((c) => c.contentId),
    });
  }

  /** Refuses a change of `path` on a read-only mount. */
  writable(path: string): void {
    const { mountId } = this.ns.ufsLocationOf(path);
    const mount = this.ns.mountList().find((m) => m.id === mountId);
    if (mount?.readOnly) throw new KoineError(ErrorCode.PermissionDenied, `Cannot change "${path}": ${mount.uri} is mounted read-only`);
  }

  /** A mount point at or below `path` (not the root's). */
  mountPointIn(path: string): Mount | undefined {
    return this.ns.mountList().find((m) => m.path !== "/" && isWithin(m.path, path));
  }
}

/**
 * Mirrors a delete to the under-store. A file is removed only while it is
 * still the version deleted, so a newer write that raced past is kept; a
 * directory goes with what is below it.
 */
export async function removeFromUfs(
  info: FileInfo,
  inode: Pick<InodeRecord, "type" | "ufsFingerprint">,
  ufs: UnderFileSystem,
): Promise<void> {
  try {
    if (inode.type === "file") {
      const status = await ufs.stat(info.ufs.path);
      if (status && status.fingerprint === inode.ufsFingerprint) await ufs.delete(info.ufs.path);
    } else {
      await ufs.delete(info.ufs.path, { recursive: true, directory: true });
    }
  } catch (err) {
    if (!(err instanceof UfsError && err.code === "NOT_FOUND")) throw err;
  }
}

/** Which shard of the namespace a metadata replica serves, of how many. */
export interface Shard {
  index: number;
  count: number;
}

/** The fields of a request that name what it is about. */
interface Routed {
  path?: unknown;
  src?: unknown;
  dst?: unknown;
  bucket?: unknown;
  uploadId?: unknown;
}
