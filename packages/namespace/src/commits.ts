import { enqueue } from "@koine/bus";
import {
  canonicalPath,
  ErrorCode,
  Jobs,
  joinPath,
  KoineError,
  Meta,
  objectLocation,
  parsePath,
  type Versioning,
  type WriteCondition,
  type WrittenData,
} from "@koine/protocol";
import { type PublishTurn, UfsError } from "@koine/ufs";
import { type Metadata, removeFromUfs } from "./context.ts";
import type { Settle } from "./intents.ts";
import type { InodeRecord, Namespace, QuotaHold, VersionedChange } from "./namespace.ts";
import type { Versions } from "./versions.ts";

type Committed = Awaited<ReturnType<Namespace["commitFile"]>>;

/**
 * A change made in a publish's turn, whose answer its caller awaits only
 * once the publish is done: a failure in between (the journal unreachable)
 * is the caller's to see, not an unhandled rejection that ends the process.
 */
function awaitedLater<T>(change: Promise<T>): Promise<T> {
  change.catch(() => {});
  return change;
}

/** Commits written bytes at a path (see {@link serveCommits}). */
export type CommitWritten = (
  path: string,
  data: WrittenData,
  createParents: boolean,
  commit: (written: WrittenData, versioned: VersionedChange | undefined) => Promise<Committed>,
  condition?: WriteCondition,
) => Promise<Committed>;

/**
 * The commit protocol: staged bytes published at their path in the
 * under-store, then named in LMDB, in the publish's turn; ASYNC_THROUGH
 * versions queued for persisting and persisted; pinned contents. Returns
 * the commit, which multipart completion uses too, and `requeue`, which
 * queues again every version still waiting to be persisted.
 */
export function serveCommits(m: Metadata, versions: Versions): { commitWritten: CommitWritten; requeue: () => Promise<void> } {
  /** Commits under way, by path: a persist waits until there are none, so that it never swaps older bytes over a newer version. */
  const committing = new Map<string, number>();
  const tracked = async <T>(path: string, work: () => Promise<T>): Promise<T> => {
    const key = canonicalPath(path);
    committing.set(key, (committing.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (committing.get(key) ?? 1) - 1;
      if (left === 0) committing.delete(key);
      else committing.set(key, left);
    }
  };

  /**
   * The ETag of the version each path's latest write made, from its swap
   * until its LMDB commit is done: a conditional write compares with this
   * before what LMDB names, so of two racing conditional writes one wins.
   */
  const swapped = new Map<string, { etag: string }>();
  const swap = (path: string, etag: string): (() => void) => {
    const key = canonicalPath(path);
    const mark = { etag };
    swapped.set(key, mark);
    return () => {
      if (swapped.get(key) === mark) swapped.delete(key);
    };
  };
  /** Throws unless `path` now holds what `condition` asks for: no object, or the version with its ETag. */
  const checkCondition = (path: string, condition: WriteCondition | undefined): void => {
    if (!condition) return;
    const inode = m.ns.lookup(parsePath(path));
    const etag = swapped.get(canonicalPath(path))?.etag ?? (inode && (inode.type === "file" || inode.marker) ? inode.etag : undefined);
    if ("absent" in condition) {
      if (etag !== undefined) throw new KoineError(ErrorCode.ConditionNotMet, `Cannot write "${path}": it exists`);
    } else if (etag === undefined) {
      throw new KoineError(ErrorCode.NotFound, `Cannot write "${path}" over version ${condition.etag}: there is none`);
    } else if (etag !== condition.etag) {
      throw new KoineError(ErrorCode.ConditionNotMet, `Cannot write "${path}" over version ${condition.etag}: it holds ${etag}`);
    }
  };

  /** Makes staged bytes the under-store file of `path` in the publish's turn, if they were staged on its mount. */
  const publishAt = async <T>(path: string, stagedPath: string, stagedOn: string | undefined, turn: PublishTurn<T>) => {
    const at = objectLocation(m.ns.mountList(), path);
    if (stagedOn !== undefined && stagedOn !== at.mountId) {
      await (await m.ufsOf(stagedOn)).discard(stagedPath).catch(() => {});
      throw new KoineError(ErrorCode.Unavailable, `Cannot commit "${path}": the mount table changed while it was written; write it again`);
    }
    return (await m.ufsOf(at.mountId)).publish(stagedPath, at.path, turn);
  };

  /**
   * Commits written bytes at `path`. Staged bytes are published first and
   * the LMDB commit is queued in the publish's turn, so that when writes of
   * one path race, the namespace names the version the under-store shows
   * (the disk syncs of racing writes still overlap). Nothing is published
   * where the commit could not follow; a commit sent again after a lost
   * reply (this very version is there) commits again without publishing.
   * In a bucket with versioning, writes of a path take turns, each moving
   * the current version aside before its own is published (see {@link Versions}).
   */
  const commitWritten: CommitWritten = (path, data, createParents, commit, condition) =>
    tracked(path, () => {
      m.writable(path);
      const versioning = m.ns.versioningOf(path);
      if (!versioning) return commitOne(path, data, createParents, commit, condition, undefined);
      return versions.inTurn(path, () => commitOne(path, data, createParents, commit, condition, versioning));
    });

  const commitOne = async (
    ...[path, data, createParents, commit, condition, versioning]: [...Parameters<CommitWritten>, Versioning | undefined]
  ): Promise<Committed> => {
    const existing = m.ns.lookup(parsePath(path));
    if (existing?.contentId === data.contentId) return commit(data, undefined);
    let hold: QuotaHold | undefined;
    try {
      // What the write adds is held against the quota from here until its commit: writers racing cannot overshoot it.
      hold = m.ns.hold(path, data.size - (existing?.type === "file" ? existing.size : 0));
      if (data.stagedPath) m.ns.checkCommit(path, createParents);
      // With versioning, writes of the path take turns: the condition holds until this one's commit.
      if (versioning) checkCondition(path, condition);
    } catch (err) {
      if (hold) m.ns.release(hold);
      if (data.stagedPath) await (await m.ufsOf(data.mountId ?? m.ns.ufsLocationOf(path).mountId)).discard(data.stagedPath);
      throw err;
    }
    let intent: Settle | undefined;
    let swapDone: (() => void) | undefined;
    let versioned: VersionedChange | undefined;
    let committed: Committed | undefined;
    try {
      if (versioning) ({ change: versioned, intent } = await versions.keepAside(path, existing, versioning));
      if (!data.stagedPath) {
        checkCondition(path, condition);
        swapDone = swap(path, data.etag);
        committed = await commit(data, versioned);
        return committed;
      }
      // The under-store changes before the journal does: the next leader checks this path if this one dies between.
      intent ??= await m.intents.begin([canonicalPath(path)]);
      let published: Awaited<ReturnType<typeof publishAt<Promise<Committed>>>>;
      let refused: unknown;
      try {
        published = await publishAt(path, data.stagedPath, data.mountId, {
          proceed: () => {
            try {
              checkCondition(path, condition);
              return true;
            } catch (err) {
              refused = err;
              return false;
            }
          },
          onSwap: (status) => {
            swapDone = swap(path, data.etag);
            m.crashPoint("after-ufs-publish");
            return awaitedLater(commit({ ...data, ufsFingerprint: status.fingerprint }, versioned));
          },
        });
      } catch (err) {
        if (!(err instanceof UfsError && err.code === "NOT_FOUND")) throw err;
        // The staged bytes are gone. A metadata killed between the rename and its LMDB commit leaves them at the
        // path (a rename keeps the fingerprint): this commit, sent again, finishes that one. Otherwise they are lost.
        const at = objectLocation(m.ns.mountList(), path);
        if ((await (await m.ufsOf(at.mountId)).stat(at.path))?.fingerprint === data.ufsFingerprint) return await commit(data, undefined);
        throw new KoineError(ErrorCode.Unavailable, `Cannot commit "${path}": its staged bytes are gone; write it again`, { cause: err });
      }
      if (!published.published) throw refused;
      committed = await (published.result as Promise<Committed>);
      return committed;
    } finally {
      swapDone?.();
      m.ns.release(hold);
      if (intent) await versions.settleIntent(intent).catch(() => {});
      if (committed) await versions.drop({ dropped: committed.dropped, pruned: [] });
    }
  };

  /** Queues the persisting of a version that is only in the cache (ASYNC_THROUGH). */
  const queuePersist = (contentId: string) =>
    enqueue(m.nc, Jobs.persist, { contentId }, `persist-${contentId}`).catch((err) =>
      m.log.error({ err, contentId }, "cannot queue persisting (queued again at restart)"),
    );

  m.on(Meta.commitFile, async (req) => {
    const { info, replaced } = await commitWritten(
      req.path,
      req.data,
      req.createParents,
      (data, versioned) =>
        m.ns.commitFile(
          req.path,
          data,
          req.blockSize,
          req.attributes,
          req.createParents,
          {
            ...(req.persistence ? { persistence: req.persistence } : {}),
            ...(req.cachedOn ? { cachedOn: req.cachedOn } : {}),
          },
          versioned,
        ),
      req.condition,
    );
    // A version only in the cache replaces the persisted one: the under-store must not bring the old one back.
    if (info.persistence !== "PERSISTED" && replaced?.persistence === "PERSISTED") {
      await removeFromUfs(m.ns.info(replaced, info.path), replaced, await m.ufsOf(info.ufs.mountId));
    }
    if (info.type === "directory") await (await m.ufsOf(info.ufs.mountId)).mkdir(info.ufs.path);
    if (info.persistence === "TO_BE_PERSISTED") await queuePersist(info.contentId);
    m.changed(info.path);
    return info;
  });
  const contentHolder = (contentId: string): { inode: InodeRecord; path: string } => {
    const inode = m.ns.holderOf(contentId);
    if (!inode) {
      throw new KoineError(ErrorCode.NotFound, `Cannot find content ${contentId}: no file holds it pinned or unpersisted`);
    }
    const path = m.ns.pathOf(inode);
    // A directory's bytes are its folder object's, "dir/".
    return { inode, path: inode.type === "directory" ? joinPath(parsePath(path).segments, true) : path };
  };
  m.on(Meta.findContent, ({ contentId }) => {
    const { inode, path } = contentHolder(contentId);
    return m.ns.info(inode, path);
  });
  m.on(Meta.persist, async ({ contentId, data }) => {
    const { path } = contentHolder(contentId);
    m.writable(path);
    if (!data.stagedPath) throw new KoineError(ErrorCode.InvalidArgument, `Cannot persist "${path}": no staged bytes`);
    const stillHere = () => {
      const inode = m.ns.holderOf(contentId);
      return inode !== undefined && inode.persistence !== "PERSISTED" && m.ns.pathOf(inode) === canonicalPath(path);
    };
    const published = await publishAt(path, data.stagedPath, data.mountId, {
      proceed: () => !committing.has(canonicalPath(path)) && stillHere(),
      onSwap: (status) => awaitedLater(m.ns.markPersisted(path, contentId, status.fingerprint)),
    });
    const info = await published.result;
    if (!info) throw new KoineError(ErrorCode.Unavailable, `Cannot persist "${path}" now: it is being changed or moved; persist it again`);
    m.changed(info.path);
    return info;
  });
  m.on(Meta.pinned, () => ({ contentIds: m.ns.pinnedContents() }));

  return {
    commitWritten,
    // Versions still waiting to be persisted are queued again (a queued one is stored once: same job id).
    requeue: async () => {
      for (const contentId of m.ns.waitingToPersist()) await queuePersist(contentId);
    },
  };
}
