import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { connect, enqueue, ensureWorkQueue, type NatsConnection, publish, Responder } from "@koine/bus";
import { parseDuration } from "@koine/config";
import { startOpsHost } from "@koine/frontend";
import { serviceLogger } from "@koine/log";
import {
  DEFAULT_BLOCK_SIZE,
  ErrorCode,
  Events,
  type FileAttributes,
  type FileInfo,
  JOBS_STREAM,
  JOBS_SUBJECTS,
  Jobs,
  KoineError,
  Meta,
  type Mount,
  parsePath,
  type ReplyOf,
  type RequestOf,
  type Rpc,
  type WrittenData,
} from "@koine/protocol";
import { canonicalUri, openUfs, type PublishTurn, Turns, UfsError, UfsRegistry, type UnderFileSystem } from "@koine/ufs";
import { open } from "lmdb";
import { DEFAULT_SYNC_INTERVAL_MS, DEFAULT_TTL_CHECK_MS, type MetadataOptions } from "./config.ts";
import { listKeys } from "./listing.ts";
import { reportMetrics } from "./metrics.ts";
import { canonical, type InodeRecord, Namespace, type PlacedInode } from "./namespace.ts";
import { DEFAULT_SWEEP_GRACE_MS, DEFAULT_SWEEP_INTERVAL_MS, Sweeper } from "./sweeper.ts";
import { SYNC_INTERVAL_PROPERTY, UfsSync } from "./sync.ts";
import { Uploads } from "./uploads.ts";
import { Users } from "./users.ts";

/**
 * LMDB reader slots: one per open read transaction of this process (a
 * listing page holds one while it walks), far above what requests in flight
 * need; LMDB's default is 126.
 */
const MAX_READERS = 1024;

export interface MetadataService {
  /** Where /healthz, /readyz and /metrics are, when served. */
  opsUrl?: string;
  stop(): Promise<void>;
}

/** Attributes that change the file itself, not only how it is cached (refused on a read-only mount). */
const FILE_ATTRIBUTES: readonly (keyof FileAttributes)[] = [
  "contentType",
  "userMeta",
  "headers",
  "tags",
  "checksums",
  "acl",
  "owner",
  "group",
  "mode",
];

/**
 * Starts the metadata service: the namespace, mounts and uploads in LMDB,
 * answered over NATS. Namespace changes are mirrored to the under-store,
 * and what is in the under-stores is loaded into the namespace lazily.
 */
export async function start(options: MetadataOptions): Promise<MetadataService> {
  const log = serviceLogger("metadata");
  await mkdir(options.dataDir, { recursive: true });
  const db = open({ path: options.dataDir, maxReaders: MAX_READERS });
  // Slots held by a process that was killed stay taken until someone clears them.
  const staleReaders = db.readerCheck();
  if (staleReaders > 0) log.warn({ staleReaders }, "cleared LMDB reader slots of a dead process");
  const ns = new Namespace(db);
  await ns.init({ id: "root", path: "/", uri: options.rootUfs, readOnly: false });
  const uploads = new Uploads(db, ns);
  const users = new Users(db);
  const stores = new UfsRegistry(() => ns.mountList());
  const ufsOf = (mountId: string) => stores.get(mountId);

  const nc: NatsConnection = await connect({ servers: options.natsUrl, name: "koine-metadata" });
  await ensureWorkQueue(nc, { stream: JOBS_STREAM, subjects: JOBS_SUBJECTS });
  const changed = (...paths: string[]) => publish(nc, Events.changed, { paths, trees: [] });
  const changedTrees = (...trees: string[]) => publish(nc, Events.changed, { paths: trees, trees });
  const sync = new UfsSync(ns, stores, {
    intervalMs: options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
    blockSize: DEFAULT_BLOCK_SIZE,
    onChanged: (paths) => changedTrees(...paths),
  });
  const onInternalError = (err: unknown, subject: string) => log.error({ err, subject }, "request failed");
  // A plain subscription, not a queue group: a NATS server picks one member of a queue group, and may pick the
  // subscription this process left behind a server that was cut off (until that route is found dead, which can
  // take minutes while traffic flows), so every request would be lost; a plain one reaches wherever it is now.
  const responder = new Responder(nc, { onInternalError });
  /** Tells the cache nodes which contents became pinned or unpinned. */
  const publishPins = () => {
    const changes = ns.takePinChanges();
    if (changes.length === 0) return;
    publish(nc, Events.pinsChanged, {
      pinned: changes.filter((c) => c.pinned).map((c) => c.contentId),
      unpinned: changes.filter((c) => !c.pinned).map((c) => c.contentId),
    });
  };
  const on = <R extends Rpc>(endpoint: R, handler: (request: RequestOf<R>) => Promise<ReplyOf<R>> | ReplyOf<R>) =>
    responder.on(endpoint, async (request) => {
      const started = performance.now();
      try {
        return await handler(request);
      } finally {
        publishPins();
        log.debug({ subject: endpoint.subject, ms: Math.round((performance.now() - started) * 10) / 10 }, "request");
      }
    });

  /** Renames of one path, one after another. */
  const renames = new Turns();

  /** Commits under way, by path: a persist waits until there are none, so that it never swaps older bytes over a newer version. */
  const committing = new Map<string, number>();
  const tracked = async <T>(path: string, work: () => Promise<T>): Promise<T> => {
    const key = canonical(path);
    committing.set(key, (committing.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (committing.get(key) ?? 1) - 1;
      if (left === 0) committing.delete(key);
      else committing.set(key, left);
    }
  };

  const mountOf = (path: string): Mount | undefined => {
    const { mountId } = ns.ufsLocationOf(canonical(path));
    return ns.mountList().find((m) => m.id === mountId);
  };
  const writable = (path: string) => {
    const mount = mountOf(path);
    if (mount?.readOnly) throw new KoineError(ErrorCode.PermissionDenied, `Cannot change "${path}": ${mount.uri} is mounted read-only`);
  };
  const holdsMountPoint = (path: string) =>
    ns.mountList().find((m) => m.path !== "/" && (m.path === canonical(path) || m.path.startsWith(`${canonical(path)}/`)));

  /** An under-store that cannot be reached leaves the namespace answering from what it holds. */
  const unsynced = (err: unknown) => {
    if (err instanceof KoineError && err.code === ErrorCode.InvalidArgument) throw err;
    log.warn({ cause: (err as Error).message }, "cannot compare with the under-store; answering from the namespace");
  };
  on(Meta.stat, async (req) => {
    await sync.path(req.path, req).catch(unsynced);
    return ns.stat(req.path);
  });
  on(Meta.list, async (req) => {
    const { path, after, limit, recursive } = req;
    await sync.directory(path, req, recursive === true).catch(unsynced);
    const dir = ns.get(path);
    const base = canonical(path) === "/" ? "" : canonical(path);
    if (dir.type !== "directory") return { entries: [ns.info(dir, canonical(path))], truncated: false };
    const max = limit ?? 10000;
    if (!recursive) {
      const children = ns.listChildren(dir.id, after, max + 1);
      return {
        entries: children.slice(0, max).map((c) => ns.info(c, `${base}/${c.name}`)),
        truncated: children.length > max,
      };
    }
    const entries: FileInfo[] = [];
    const walk = (id: number, prefix: string): boolean => {
      for (const c of ns.listChildren(id, undefined, Number.MAX_SAFE_INTEGER)) {
        if (entries.length >= max) return false;
        entries.push(ns.info(c, `${prefix}/${c.name}`));
        if (c.type === "directory" && !walk(c.id, `${prefix}/${c.name}`)) return false;
      }
      return true;
    };
    const complete = walk(dir.id, base);
    return { entries, truncated: !complete };
  });
  on(Meta.listKeys, async (req) => {
    const cut = req.prefix.lastIndexOf("/");
    const dir = `/${req.bucket}${cut >= 0 ? `/${req.prefix.slice(0, cut)}` : ""}`;
    if (isPath(dir)) await sync.directory(dir, {}, req.delimiter !== "/").catch(unsynced);
    return listKeys(ns, req);
  });
  on(Meta.mkdir, async (req) => {
    writable(req.path);
    const info = await ns.mkdir(req.path, req);
    await (await ufsOf(info.ufs.mountId)).mkdir(info.ufs.path);
    changed(info.path);
    return info;
  });
  /** Makes staged bytes the under-store file of `path` in the publish's turn, if they were staged on its mount. */
  const publishAt = async <T>(path: string, stagedPath: string, stagedOn: string | undefined, turn: PublishTurn<T>) => {
    const at = ns.ufsLocationOf(canonical(path));
    if (stagedOn !== undefined && stagedOn !== at.mountId) {
      await (await ufsOf(stagedOn)).discard(stagedPath).catch(() => {});
      throw new KoineError(ErrorCode.Unavailable, `Cannot commit "${path}": the mount table changed while it was written; write it again`);
    }
    return (await ufsOf(at.mountId)).publish(stagedPath, at.path, turn);
  };

  type Committed = Awaited<ReturnType<Namespace["commitFile"]>>;
  /**
   * Commits written bytes at `path`. Staged bytes are published first and
   * the LMDB commit is queued in the publish's turn, so that when writes of
   * one path race, the namespace names the version the under-store shows
   * (the disk syncs of racing writes still overlap). Nothing is published
   * where the commit could not follow; a commit sent again after a lost
   * reply (this very version is there) commits again without publishing.
   */
  const commitWritten = (
    path: string,
    data: WrittenData,
    createParents: boolean,
    commit: (written: WrittenData) => Promise<Committed>,
  ): Promise<Committed> =>
    tracked(path, async () => {
      writable(path);
      if (!data.stagedPath || ns.lookup(parsePath(path))?.contentId === data.contentId) return commit(data);
      try {
        ns.checkCommit(path, createParents);
      } catch (err) {
        await (await ufsOf(data.mountId ?? ns.ufsLocationOf(canonical(path)).mountId)).discard(data.stagedPath);
        throw err;
      }
      let published: Awaited<ReturnType<typeof publishAt<Promise<Committed>>>>;
      try {
        published = await publishAt(path, data.stagedPath, data.mountId, {
          onSwap: (status) => commit({ ...data, ufsFingerprint: status.fingerprint }),
        });
      } catch (err) {
        if (!(err instanceof UfsError && err.code === "NOT_FOUND")) throw err;
        // The staged bytes are gone. A metadata killed between the rename and its LMDB commit leaves them at the
        // path (a rename keeps the fingerprint): this commit, sent again, finishes that one. Otherwise they are lost.
        const at = ns.ufsLocationOf(canonical(path));
        if ((await (await ufsOf(at.mountId)).stat(at.path))?.fingerprint === data.ufsFingerprint) return commit(data);
        throw new KoineError(ErrorCode.Unavailable, `Cannot commit "${path}": its staged bytes are gone; write it again`, { cause: err });
      }
      return published.result as Promise<Committed>;
    });

  /** Queues the persisting of a version that is only in the cache (ASYNC_THROUGH). */
  const queuePersist = (contentId: string) =>
    enqueue(nc, Jobs.persist, { contentId }, `persist-${contentId}`).catch((err) =>
      log.error({ err, contentId }, "cannot queue persisting (queued again at restart)"),
    );

  on(Meta.commitFile, async (req) => {
    const { info, replaced } = await commitWritten(req.path, req.data, req.createParents, (data) =>
      ns.commitFile(req.path, data, req.blockSize, req.attributes, req.createParents, {
        ...(req.persistence ? { persistence: req.persistence } : {}),
        ...(req.cachedOn ? { cachedOn: req.cachedOn } : {}),
      }),
    );
    // A version only in the cache replaces the persisted one: the under-store must not bring the old one back.
    if (info.persistence !== "PERSISTED" && replaced?.persistence === "PERSISTED") {
      await removeFromUfs(ns.info(replaced, info.path), replaced, await ufsOf(info.ufs.mountId));
    }
    if (info.type === "directory") await (await ufsOf(info.ufs.mountId)).mkdir(info.ufs.path);
    if (info.persistence === "TO_BE_PERSISTED") await queuePersist(info.contentId);
    changed(info.path);
    return info;
  });
  const contentHolder = (contentId: string): { inode: InodeRecord; path: string } => {
    const id = ns.pins.get(contentId);
    const inode = id === undefined ? undefined : ns.inodes.get(id);
    if (!inode || inode.contentId !== contentId) {
      throw new KoineError(ErrorCode.NotFound, `Cannot find content ${contentId}: no file holds it pinned or unpersisted`);
    }
    return { inode, path: ns.pathOf(inode) };
  };
  on(Meta.findContent, ({ contentId }) => {
    const { inode, path } = contentHolder(contentId);
    return ns.info(inode, path);
  });
  on(Meta.persist, async ({ contentId, data }) => {
    const { path } = contentHolder(contentId);
    writable(path);
    if (!data.stagedPath) throw new KoineError(ErrorCode.InvalidArgument, `Cannot persist "${path}": no staged bytes`);
    const stillHere = () => {
      const holder = ns.pins.get(contentId);
      const inode = holder === undefined ? undefined : ns.inodes.get(holder);
      return inode?.contentId === contentId && inode.persistence !== "PERSISTED" && ns.pathOf(inode) === canonical(path);
    };
    const published = await publishAt(path, data.stagedPath, data.mountId, {
      proceed: () => !committing.has(canonical(path)) && stillHere(),
      onSwap: (status) => ns.markPersisted(path, contentId, status.fingerprint),
    });
    const info = await published.result;
    if (!info) throw new KoineError(ErrorCode.Unavailable, `Cannot persist "${path}" now: it is being changed or moved; persist it again`);
    changed(info.path);
    return info;
  });
  on(Meta.pinned, () => ({ contentIds: [...ns.pins.getKeys({})] }));
  on(Meta.mount, async ({ path, uri, readOnly, properties }) => {
    const at = canonical(path);
    parsePath(at);
    const interval = properties?.[SYNC_INTERVAL_PROPERTY];
    if (interval !== undefined) {
      try {
        parseDuration(interval, SYNC_INTERVAL_PROPERTY);
      } catch (err) {
        throw new KoineError(ErrorCode.InvalidArgument, (err as Error).message);
      }
    }
    let status: Awaited<ReturnType<UnderFileSystem["stat"]>>;
    let mount: Mount;
    try {
      mount = {
        id: randomBytes(6).toString("hex"),
        path: at,
        uri: canonicalUri(uri),
        readOnly: readOnly ?? false,
        properties: properties ?? {},
      };
      status = await openUfs(mount).stat("/");
    } catch (err) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount ${uri}: ${(err as Error).message}`);
    }
    if (status?.type !== "directory")
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount ${uri}: no such directory in the under-store`);
    await ns.addMount(mount);
    const mounts = ns.mountList();
    publish(nc, Events.mountsChanged, { mounts });
    changed(at);
    return { mounts };
  });
  on(Meta.unmount, async ({ path }) => {
    const mount = await ns.removeMount(path);
    stores.drop(mount.id);
    const mounts = ns.mountList();
    publish(nc, Events.mountsChanged, { mounts });
    changedTrees(mount.path);
    return { mounts };
  });

  /** Deletes `path` from the namespace and its under-store. */
  const deletePath = async (req: RequestOf<typeof Meta.delete>) => {
    writable(req.path);
    const mountPoint = holdsMountPoint(req.path);
    if (mountPoint)
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot delete "${req.path}": "${mountPoint.path}" is a mount point; unmount it`);
    const removal = await ns.delete(req.path, req);
    const top = removal.removed[removal.removed.length - 1] as PlacedInode;
    const info = ns.info(top.inode, top.path);
    if (!removal.keptDirectory) await removeFromUfs(info, top.inode, await ufsOf(info.ufs.mountId));
    for (const dir of removal.pruned) {
      const at = ns.ufsLocationOf(dir);
      await (await ufsOf(at.mountId)).delete(at.path).catch(() => {}); // an under-store directory with other content stays
    }
    if (top.inode.type === "directory") changedTrees(top.path, ...removal.pruned);
    else changed(top.path, ...removal.pruned);
    return { deleted: removal.removed.map((r) => ns.info(r.inode, r.path)) };
  };
  on(Meta.delete, deletePath);
  on(Meta.rename, ({ src, dst }) =>
    renames.run(canonical(src), async () => {
      writable(src);
      writable(dst);
      const mountPoint = holdsMountPoint(src);
      if (mountPoint) throw new KoineError(ErrorCode.InvalidArgument, `Cannot rename "${src}": "${mountPoint.path}" is a mount point`);
      const before = ns.stat(src);
      const target = ns.ufsLocationOf(canonical(dst));
      if (target.mountId !== before.ufs.mountId) {
        throw new KoineError(ErrorCode.InvalidArgument, `Cannot rename "${src}" to "${dst}": they are on different mounts`);
      }
      // A file only in the cache has nothing in the under-store to move.
      const inUfs = before.type === "directory" || before.persistence === "PERSISTED";
      const ufs = await ufsOf(before.ufs.mountId);
      if (inUfs) await ufs.rename(before.ufs.path, target.path);
      try {
        const info = await ns.rename(src, dst);
        if (info.type === "directory") changedTrees(before.path, info.path);
        else changed(before.path, info.path);
        return info;
      } catch (err) {
        if (inUfs) await ufs.rename(target.path, before.ufs.path).catch(() => {});
        throw err;
      }
    }),
  );
  on(Meta.setAttributes, async ({ path, attributes }) => {
    if (FILE_ATTRIBUTES.some((k) => attributes[k] !== undefined)) writable(path);
    const info = await ns.setAttributes(path, attributes);
    changed(info.path);
    return info;
  });
  on(Meta.mounts, () => ({ mounts: ns.mountList() }));
  on(Meta.listUsers, () => ({ users: users.list() }));
  on(Meta.putUser, async ({ accessKey, secretKey }) => {
    const user = await users.put(accessKey, secretKey);
    publish(nc, Events.usersChanged, { accessKeys: [accessKey] });
    return user;
  });
  on(Meta.removeUser, async ({ accessKey }) => {
    const user = await users.remove(accessKey);
    publish(nc, Events.usersChanged, { accessKeys: [accessKey] });
    return user;
  });

  on(Meta.createUpload, ({ path, owner, attributes }) => {
    writable(path);
    return uploads.create(path, owner, attributes);
  });
  on(Meta.getUpload, ({ uploadId }) => uploads.find(uploadId));
  on(Meta.putPart, ({ uploadId, part }) => uploads.putPart(uploadId, part));
  on(Meta.listParts, ({ uploadId, after, maxParts }) => ({
    upload: uploads.get(uploadId),
    ...uploads.parts(uploadId, after, maxParts),
  }));
  on(Meta.listUploads, (r) => uploads.list(r.bucket, r.prefix, r.keyMarker, r.uploadIdMarker, r.maxUploads));
  on(Meta.planComplete, ({ uploadId, parts }) => uploads.plan(uploadId, parts));
  on(Meta.finishUpload, async ({ uploadId, data, blockSize }) => {
    const upload = uploads.get(uploadId);
    const { info } = await commitWritten(upload.path, data, true, (written) =>
      ns.commitFile(upload.path, written, blockSize, upload.attributes, true),
    );
    await uploads.remove(uploadId, info.etag);
    await (await ufsOf(upload.ufs.mountId)).delete(upload.ufs.path, { recursive: true }).catch(() => {});
    changed(info.path);
    return info;
  });
  on(Meta.abortUpload, async ({ uploadId }) => {
    const upload = await uploads.remove(uploadId);
    await (await ufsOf(upload.ufs.mountId)).delete(upload.ufs.path, { recursive: true }).catch(() => {});
    return upload;
  });

  /**
   * Enforces times to live (counted from creation, as Alluxio 2.x does):
   * DELETE removes the path, from the under-store too; FREE drops the
   * cached pages of persisted, unpinned files, then clears the TTL.
   */
  const enforceTtls = async () => {
    const now = Date.now();
    for (const id of [...ns.ttls.getKeys({})]) {
      const inode = ns.inodes.get(id);
      if (!inode || inode.ttlMs === undefined || inode.createdMs + inode.ttlMs > now) continue;
      const path = ns.pathOf(inode);
      try {
        if (inode.ttlAction === "FREE") {
          const contentIds = [...ns.subtree(inode, path)]
            .filter(({ inode: f }) => f.type === "file" && f.persistence === "PERSISTED" && !f.pinned && f.contentId)
            .map(({ inode: f }) => f.contentId);
          if (contentIds.length > 0) publish(nc, Events.free, { contentIds });
          const info = await ns.setAttributes(path, { ttlMs: -1 });
          changed(info.path);
        } else {
          await deletePath({ path, recursive: true });
        }
      } catch (err) {
        log.error({ err, path }, "cannot enforce the TTL; clearing it");
        await ns.setAttributes(path, { ttlMs: -1 }).catch(() => {});
      } finally {
        publishPins();
      }
    }
  };
  let ttlRun = Promise.resolve();
  const sweeper = new Sweeper(
    stores,
    () => ns.mountList(),
    (uploadId) => uploads.uploads.get(uploadId) !== undefined,
    log,
    {
      intervalMs: options.sweep?.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
      graceMs: options.sweep?.graceMs ?? DEFAULT_SWEEP_GRACE_MS,
    },
  );
  sweeper.start();
  const ttlTimer = setInterval(() => {
    ttlRun = ttlRun.then(enforceTtls).catch((err) => log.error({ err }, "TTL check failed"));
  }, options.ttlCheckMs ?? DEFAULT_TTL_CHECK_MS);

  // Versions still waiting to be persisted are queued again (a queued one is stored once: same job id).
  for (const { value: contentId } of ns.toPersist.getRange({})) await queuePersist(contentId);

  await nc.flush();
  const unreport = reportMetrics(ns, options.dataDir);
  const ops = options.ops && (await startOpsHost(log, options.ops, async () => ({ ready: !nc.isClosed(), nats: !nc.isClosed() })));
  return {
    ...(ops ? { opsUrl: ops.url } : {}),
    async stop() {
      unreport();
      await ops?.close();
      clearInterval(ttlTimer);
      await sweeper.stop();
      await ttlRun;
      responder.close();
      await nc.drain();
      await db.close();
    },
  };
}

/** Whether `path` parses (an S3 prefix need not name a directory). */
function isPath(path: string): boolean {
  try {
    parsePath(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Mirrors a delete to the under-store. A file is removed only while it is
 * still the version deleted, so a newer write that raced past is kept; a
 * directory goes with what is below it.
 */
async function removeFromUfs(info: FileInfo, inode: InodeRecord, ufs: UnderFileSystem): Promise<void> {
  try {
    if (inode.type === "file") {
      const status = await ufs.stat(info.ufs.path);
      if (status && status.fingerprint === inode.ufsFingerprint) await ufs.delete(info.ufs.path);
    } else {
      await ufs.delete(info.ufs.path, { recursive: true });
    }
  } catch (err) {
    if (!(err instanceof UfsError && err.code === "NOT_FOUND")) throw err;
  }
}
