import {
  canonicalPath,
  ErrorCode,
  type FileInfo,
  KoineError,
  lockOf,
  Meta,
  parsePath,
  type Versioning,
  versionIdOf,
} from "@koine/protocol";
import { Turns, VERSIONS_DIR } from "@koine/ufs";
import { type Metadata, removeFromUfs } from "./context.ts";
import type { Settle, VersionMove } from "./intents.ts";
import { listVersions } from "./listing.ts";
import { type InodeRecord, keepsCurrent, type VersionedChange, type VersionsChanged } from "./namespace.ts";

/**
 * S3 versions as metadata keeps them: the current version is the file at
 * its path (what every dialect sees); a noncurrent one is a record in LMDB
 * whose bytes were moved to `/.koine-versions/<contentId>` of the same
 * under-store (or stay pinned in the cache, when they were only there).
 * Every change of a path's versions runs in the path's turn, the moves in
 * the under-store and the journal entry together.
 */
export class Versions {
  readonly #m: Metadata;
  readonly #turns = new Turns();

  constructor(m: Metadata) {
    this.#m = m;
  }

  /** Runs `change` of `path` after the changes of its versions asked for before. */
  inTurn<T>(path: string, change: () => Promise<T>): Promise<T> {
    return this.#turns.run(canonicalPath(path), change);
  }

  /**
   * Moves the bytes of current version `inode` of `path` aside when a
   * change with `versioning` keeps it: what that change records, and the
   * intent to settle once it is journaled (or failed). Bytes changed in the
   * under-store since koine wrote them are no version of its.
   */
  async keepAside(
    path: string,
    inode: InodeRecord | undefined,
    versioning: Versioning,
  ): Promise<{ change: VersionedChange; intent?: Settle }> {
    if (inode?.type !== "file" || !keepsCurrent(versioning, inode)) return { change: { versioning } };
    if (inode.persistence !== "PERSISTED") return { change: { versioning, kept: {} } };
    const at = this.#m.ns.ufsLocationOf(path);
    const ufs = await this.#m.ufsOf(at.mountId);
    if ((await ufs.stat(at.path))?.fingerprint !== inode.ufsFingerprint) return { change: { versioning } };
    const aside = { mountId: at.mountId, path: `/${VERSIONS_DIR}/${inode.contentId}` };
    // Journaled first: a leader that dies with the bytes moved leaves them to the next one to put where LMDB says.
    const intent = await this.#m.intents.begin(
      [canonicalPath(path)],
      [{ path: canonicalPath(path), contentId: inode.contentId, from: at, to: aside }],
    );
    try {
      await ufs.rename(at.path, aside.path);
      const status = await ufs.stat(aside.path);
      return { change: { versioning, kept: { at: { ufs: aside, ufsFingerprint: status?.fingerprint ?? inode.ufsFingerprint } } }, intent };
    } catch (err) {
      intent.settle();
      throw err;
    }
  }

  /**
   * Puts the bytes of each move where LMDB now says their version is: the
   * current file at its path, or a noncurrent one aside. A change that was
   * not journaled (it failed, or its leader died) is undone; one that was,
   * finished. Bytes at the path that LMDB does not name (a write not
   * committed, so never acknowledged) give way.
   */
  async settle(moves: readonly VersionMove[]): Promise<void> {
    for (const move of moves) {
      const current = this.#m.ns.lookup(parsePath(move.path));
      const record = [...this.#m.ns.noncurrent(move.path)].find((r) => r.contentId === move.contentId);
      const belongs =
        current?.type === "file" && current.contentId === move.contentId
          ? { at: this.#m.ns.ufsLocationOf(move.path), fingerprint: current.ufsFingerprint }
          : record
            ? { at: record.ufs, fingerprint: record.ufsFingerprint }
            : undefined;
      if (!belongs) continue; // the version is gone for good
      const other = belongs.at.path === move.from.path ? move.to : belongs.at.path === move.to.path ? move.from : undefined;
      if (!other) continue;
      const ufs = await this.#m.ufsOf(belongs.at.mountId);
      if ((await ufs.stat(belongs.at.path))?.fingerprint === belongs.fingerprint) continue;
      if (await ufs.stat(other.path)) await ufs.rename(other.path, belongs.at.path);
    }
  }

  /**
   * Makes noncurrent version `record` current again with `change` (which
   * journals it), then moves its bytes back to `path`. Journaled first, so
   * that a leader dying in between leaves the next one to finish the move.
   */
  async putBack<T>(path: string, record: FileInfo, change: (ufsFingerprint: string) => Promise<T>): Promise<T> {
    if (record.persistence !== "PERSISTED") return change(record.ufsFingerprint);
    const at = this.#m.ns.ufsLocationOf(path);
    const move = { path: canonicalPath(path), contentId: record.contentId, from: record.ufs, to: at };
    const intent = await this.#m.intents.begin([canonicalPath(path)], [move]);
    try {
      const done = await change(record.ufsFingerprint);
      const ufs = await this.#m.ufsOf(at.mountId);
      await ufs.rename(record.ufs.path, at.path);
      // A store whose rename is a copy gives the bytes a new fingerprint: the namespace takes it.
      const fingerprint = (await ufs.stat(at.path))?.fingerprint;
      if (fingerprint && fingerprint !== record.ufsFingerprint) await this.#m.ns.markPersisted(path, record.contentId, fingerprint);
      return done;
    } finally {
      await this.settleIntent(intent);
    }
  }

  /**
   * Settles a change's intent once the bytes it moved are where LMDB says
   * (put back, when the change failed). When they cannot be moved now, the
   * intent stays open for the next leader to settle.
   */
  async settleIntent(intent: Settle): Promise<void> {
    if (intent.moves.length > 0) await this.settle(intent.moves);
    intent.settle();
  }

  /** Removes the bytes of versions gone for good, and the under-store directories of implicit parents left empty. */
  async drop(changed: VersionsChanged): Promise<void> {
    for (const info of changed.dropped) {
      if (info.deleteMarker || info.persistence !== "PERSISTED") continue;
      // Its bytes are where its record says (aside, or at the path while it was current).
      await removeFromUfs(info, info, await this.#m.ufsOf(info.ufs.mountId)).catch(() => {});
    }
    await this.#m.removePruned(changed.pruned);
  }
}

/** S3 version requests: list, get one, delete (a marker, or one version for good). */
export function serveVersions(m: Metadata, versions: Versions, deleteUnversioned: (path: string) => Promise<unknown>): void {
  m.on(Meta.listVersions, (req) => listVersions(m.ns, req));
  m.on(Meta.getVersion, ({ path, versionId }) => {
    const found = m.ns.findVersion(path, versionId);
    if (!found) throw new KoineError(ErrorCode.NotFound, `Cannot find version ${versionId} of "${path}"`);
    return found.info;
  });
  m.on(Meta.deleteObject, ({ path, versionId, bypassGovernance }) =>
    versions.inTurn(path, async () => {
      m.writable(path);
      const at = canonicalPath(path);
      const versioning = m.ns.versioningOf(path);
      const current = m.ns.lookup(parsePath(path));
      if (versionId === undefined) {
        if (!versioning) {
          await deleteUnversioned(path).catch((err) => {
            if (!(err instanceof KoineError && err.code === ErrorCode.NotFound)) throw err;
          });
          return { versionId: "null", deleteMarker: false };
        }
        const { change, intent } = await versions.keepAside(path, current, versioning);
        try {
          const changed = await m.ns.putDeleteMarker(path, change, current?.owner ?? "");
          await versions.drop(changed);
          m.changed(at, ...changed.pruned);
          return { versionId: versionIdOf(changed.marker), deleteMarker: true };
        } finally {
          if (intent) await versions.settleIntent(intent);
        }
      }
      const found = m.ns.findVersion(path, versionId);
      // A version that is not there is deleted already (S3 answers the same).
      if (!found) return { versionId, deleteMarker: false };
      // Refused before anything moves in the under-store (the journaled change checks again).
      const lock = lockOf(found.info, Date.now(), bypassGovernance);
      if (lock) throw new KoineError(ErrorCode.PermissionDenied, `Cannot delete version ${versionId} of "${path}": ${lock}`);
      // The newest version left becomes current, unless it is a delete marker.
      const [first, second] = m.ns.newestNoncurrent(at, 2);
      const latestMarker = current?.type !== "file" && first?.version === found.info.version;
      const next = found.current ? first : latestMarker ? second : undefined;
      const restore = next && !next.deleteMarker ? next : undefined;
      const remove = (ufsFingerprint?: string) =>
        m.ns.removeVersion(
          path,
          found.current ? { current: true } : { version: found.info.version as string },
          restore && ufsFingerprint !== undefined ? { version: restore.version as string, ufsFingerprint } : undefined,
          bypassGovernance,
        );
      const changed = restore ? await versions.putBack(path, restore, remove) : await remove();
      await versions.drop(changed);
      m.changed(at, ...changed.pruned);
      return { versionId, deleteMarker: found.info.deleteMarker === true };
    }),
  );
}
