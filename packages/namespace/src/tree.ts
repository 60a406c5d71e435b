import {
  bytesLocation,
  canonicalPath,
  childPath,
  ErrorCode,
  type FileAttributes,
  type FileInfo,
  KoineError,
  Meta,
  parsePath,
  type RequestOf,
} from "@koine/protocol";
import { Turns } from "@koine/ufs";
import { type Metadata, removeFromUfs } from "./context.ts";
import { listKeys } from "./listing.ts";
import type { InodeRecord, PlacedInode } from "./namespace.ts";
import type { SyncOptions } from "./sync.ts";

/** Attributes that change the file itself, not only how it is cached (refused on a read-only mount). */
const FILE_ATTRIBUTES: readonly (keyof FileAttributes)[] = [
  "contentType",
  "userMeta",
  "headers",
  "tags",
  "checksums",
  "grants",
  "policy",
  "publicAccessBlock",
  "owner",
  "group",
  "mode",
];

/**
 * The tree: stat, list (directories and S3 keys), mkdir, delete, rename and
 * attributes, each compared with the under-store when due and mirrored to
 * it. Returns the delete, which TTL enforcement uses too.
 */
export function serveTree(m: Metadata): { deletePath: (req: RequestOf<typeof Meta.delete>) => Promise<{ deleted: FileInfo[] }> } {
  /** Renames of one path, one after another. */
  const renames = new Turns();
  /** Thrown to stop a listing at a directory that is due to be compared with the under-store. */
  const DUE = Symbol("due");
  /** An under-store that cannot be reached leaves the namespace answering from what it holds. */
  const unsynced = (err: unknown) => {
    if (err instanceof KoineError && err.code === ErrorCode.InvalidArgument) throw err;
    m.log.warn({ cause: (err as Error).message }, "cannot compare with the under-store; answering from the namespace");
  };
  m.on(Meta.stat, async (req) => {
    await m.sync.path(req.path, req).catch(unsynced);
    return m.ns.stat(req.path);
  });
  /**
   * Runs `list` (a walk over LMDB that tells of each directory it descends
   * into); the first directory it enters that is `due` stops it, is
   * compared with the under-store, and the walk runs again, until it
   * entered none that was due: a listing costs what it walks, not the size
   * of the tree below it. Each directory is compared once a request at most.
   */
  const listSyncing = async <T>(
    list: (entered: (dir: InodeRecord, path: string) => void) => T,
    due: (dir: InodeRecord, path: string) => boolean,
    options: SyncOptions,
  ): Promise<T> => {
    const synced = new Set<number>();
    for (;;) {
      let stoppedAt: string | undefined;
      try {
        return list((dir, path) => {
          if (synced.has(dir.id) || !due(dir, path)) return;
          synced.add(dir.id);
          stoppedAt = path;
          throw DUE;
        });
      } catch (err) {
        if (err !== DUE || stoppedAt === undefined) throw err;
      }
      await m.sync.directory(stoppedAt, options).catch(unsynced);
    }
  };
  m.on(Meta.list, async (req) => {
    const { path, after, limit, recursive } = req;
    await m.sync.directory(path, req).catch(unsynced);
    const dir = m.ns.get(path);
    if (dir.type !== "directory") return { entries: [m.ns.info(dir, canonicalPath(path))], truncated: false };
    const max = limit ?? 10000;
    if (!recursive) {
      const children = m.ns.listChildren(dir.id, after, max + 1);
      return {
        entries: children.slice(0, max).map((c) => m.ns.info(c, childPath(path, c.name))),
        truncated: children.length > max,
      };
    }
    const listed = (entered: (dir: InodeRecord, path: string) => void) => {
      const entries: FileInfo[] = [];
      const walk = (id: number, prefix: string): boolean => {
        for (const c of m.ns.listChildren(id, undefined, Number.MAX_SAFE_INTEGER)) {
          if (entries.length >= max) return false;
          const at = childPath(prefix, c.name);
          entries.push(m.ns.info(c, at));
          if (c.type !== "directory") continue;
          entered(c, at);
          if (!walk(c.id, at)) return false;
        }
        return true;
      };
      const complete = walk(dir.id, canonicalPath(path));
      return { entries, truncated: !complete };
    };
    return listSyncing(listed, (entered, at) => m.sync.directoryDue(entered, at, req), req);
  });
  m.on(Meta.listKeys, async (req) => {
    // The directory the prefix's keys lie in ("a//x": the directory "" in a, "/b/a//").
    const dir = canonicalPath(`/${req.bucket}/${req.prefix.slice(0, req.prefix.lastIndexOf("/") + 1)}`);
    if (!isPath(dir)) return listKeys(m.ns, req);
    await m.sync.directory(dir, {}).catch(unsynced);
    // With "/" as delimiter a page enters a directory only to learn whether keys lie below it (then it shows its
    // common prefix): one never compared with the under-store is, others are compared when listed themselves.
    const due = (entered: InodeRecord, path: string) =>
      req.delimiter === "/" ? !m.sync.directoryCompared(entered) : m.sync.directoryDue(entered, path);
    return listSyncing((entered) => listKeys(m.ns, req, (at, key) => entered(at, canonicalPath(`/${req.bucket}/${key}`))), due, {});
  });
  m.on(Meta.mkdir, async (req) => {
    m.writable(req.path);
    const info = await m.ns.mkdir(req.path, req);
    await (await m.ufsOf(info.ufs.mountId)).mkdir(info.ufs.path);
    m.changed(info.path);
    return info;
  });
  /** Deletes `path` from the namespace and its under-store. */
  const deletePath = async (req: RequestOf<typeof Meta.delete>) => {
    m.writable(req.path);
    const mountPoint = m.mountPointIn(req.path);
    if (mountPoint)
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot delete "${req.path}": "${mountPoint.path}" is a mount point; unmount it`);
    const intent = await m.intents.begin([canonicalPath(req.path)]);
    try {
      const removal = await m.ns.delete(req.path, req);
      m.crashPoint("after-journal-delete");
      const top = removal.removed[removal.removed.length - 1] as PlacedInode;
      const info = m.ns.info(top.inode, top.path);
      const ufs = await m.ufsOf(info.ufs.mountId);
      if (!removal.keptDirectory) await removeFromUfs(info, top.inode, ufs);
      // The folder object's bytes (while still the version deleted); the directory stays.
      else
        await removeFromUfs({ ...info, ufs: bytesLocation(info) }, { type: "file", ufsFingerprint: top.inode.ufsFingerprint }, ufs).catch(
          () => {},
        );
      await m.removePruned(removal.pruned);
      if (top.inode.type === "directory") m.changedTrees(top.path, ...removal.pruned);
      else m.changed(top.path, ...removal.pruned);
      return { deleted: removal.removed.map((r) => m.ns.info(r.inode, r.path)) };
    } finally {
      intent.settle();
    }
  };
  m.on(Meta.delete, deletePath);
  m.on(Meta.rename, ({ src, dst }) =>
    renames.run(canonicalPath(src), async () => {
      m.writable(src);
      m.writable(dst);
      const mountPoint = m.mountPointIn(src);
      if (mountPoint) throw new KoineError(ErrorCode.InvalidArgument, `Cannot rename "${src}": "${mountPoint.path}" is a mount point`);
      const before = m.ns.stat(src);
      const target = m.ns.ufsLocationOf(dst);
      if (target.mountId !== before.ufs.mountId) {
        throw new KoineError(ErrorCode.InvalidArgument, `Cannot rename "${src}" to "${dst}": they are on different mounts`);
      }
      // A file only in the cache has nothing in the under-store to move.
      const inUfs = before.type === "directory" || before.persistence === "PERSISTED";
      const ufs = await m.ufsOf(before.ufs.mountId);
      const intent = inUfs ? await m.intents.begin([before.path, canonicalPath(dst)]) : undefined;
      try {
        if (inUfs) await ufs.rename(before.ufs.path, target.path, { directory: before.type === "directory" });
        m.crashPoint("after-ufs-rename");
        try {
          const info = await m.ns.rename(src, dst);
          if (info.type === "directory") m.changedTrees(before.path, info.path);
          else m.changed(before.path, info.path);
          return info;
        } catch (err) {
          if (inUfs) await ufs.rename(target.path, before.ufs.path, { directory: before.type === "directory" }).catch(() => {});
          throw err;
        }
      } finally {
        intent?.settle();
      }
    }),
  );
  m.on(Meta.setAttributes, async ({ path, attributes, versionId, bypassGovernance }) => {
    if (FILE_ATTRIBUTES.some((k) => attributes[k] !== undefined)) m.writable(path);
    const { tags, grants, retention, legalHold } = attributes;
    const info =
      versionId === undefined
        ? await m.ns.setAttributes(path, attributes)
        : await m.ns.setVersionAttributes(
            path,
            versionId,
            {
              ...(tags ? { tags } : {}),
              ...(grants ? { grants } : {}),
              ...(retention !== undefined ? { retention } : {}),
              ...(legalHold !== undefined ? { legalHold } : {}),
            },
            bypassGovernance,
          );
    m.changed(info.path);
    return info;
  });
  return { deletePath };
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
