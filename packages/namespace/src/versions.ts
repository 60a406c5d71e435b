import { ErrorCode, type FileInfo, KoineError, lockOf, Meta, parsePath, type Versioning, versionIdOf } from "@koine/protocol";
import { Turns, VERSIONS_DIR } from "@koine/ufs";
import type { Metadata } from "./context.ts";
import { listVersions } from "./listing.ts";
import { canonical, type InodeRecord, keepsCurrent, type VersionedChange, type VersionsChanged } from "./namespace.ts";

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
    return this.#turns.run(canonical(path), change);
  }

  /**
   * Moves the bytes of current version `inode` of `path` aside when a
   * change with `versioning` keeps it: what that change records. Bytes
   * changed in the under-store since koine wrote them are no version of its.
   */
  async keepAside(path: string, inode: InodeRecord | undefined, versioning: Versioning): Promise<VersionedChange> {
    if (inode?.type !== "file" || !keepsCurrent(versioning, inode)) return { versioning };
    if (inode.persistence !== "PERSISTED") return { versioning, kept: {} };
    const at = this.#m.ns.ufsLocationOf(canonical(path));
    const ufs = await this.#m.ufsOf(at.mountId);
    if ((await ufs.stat(at.path))?.fingerprint !== inode.ufsFingerprint) return { versioning };
    const aside = { mountId: at.mountId, path: `/${VERSIONS_DIR}/${inode.contentId}` };
    await ufs.rename(at.path, aside.path);
    const status = await ufs.stat(aside.path);
    return { versioning, kept: { at: { ufs: aside, ufsFingerprint: status?.fingerprint ?? inode.ufsFingerprint } } };
  }

  /** Puts bytes moved aside back at `path`, when the change that moved them did not happen. */
  async undo(path: string, change: VersionedChange): Promise<void> {
    const aside = change.kept?.at?.ufs;
    if (!aside) return;
    const ufs = await this.#m.ufsOf(aside.mountId);
    const at = this.#m.ns.ufsLocationOf(canonical(path));
    if (!(await ufs.stat(at.path))) await ufs.rename(aside.path, at.path);
  }

  /** Moves noncurrent version `record` back to `path`; the fingerprint of its bytes there. */
  async putBack(path: string, record: FileInfo): Promise<string> {
    if (record.persistence !== "PERSISTED") return record.ufsFingerprint;
    const ufs = await this.#m.ufsOf(record.ufs.mountId);
    const at = this.#m.ns.ufsLocationOf(canonical(path));
    await ufs.rename(record.ufs.path, at.path);
    return (await ufs.stat(at.path))?.fingerprint ?? record.ufsFingerprint;
  }

  /** Removes the bytes of versions gone for good, and the under-store directories of implicit parents left empty. */
  async drop(changed: VersionsChanged): Promise<void> {
    for (const info of changed.dropped) {
      if (info.deleteMarker || info.persistence !== "PERSISTED") continue;
      const ufs = await this.#m.ufsOf(info.ufs.mountId);
      const status = await ufs.stat(info.ufs.path).catch(() => undefined);
      if (status?.fingerprint === info.ufsFingerprint) await ufs.delete(info.ufs.path).catch(() => {});
    }
    for (const dir of changed.pruned) {
      const at = this.#m.ns.ufsLocationOf(dir);
      await (await this.#m.ufsOf(at.mountId)).delete(at.path).catch(() => {}); // an under-store directory with other content stays
    }
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
      const at = canonical(path);
      const versioning = m.ns.versioningOf(path);
      const current = m.ns.lookup(parsePath(path));
      if (versionId === undefined) {
        if (!versioning) {
          await deleteUnversioned(path).catch((err) => {
            if (!(err instanceof KoineError && err.code === ErrorCode.NotFound)) throw err;
          });
          return { versionId: "null", deleteMarker: false };
        }
        const change = await versions.keepAside(path, current, versioning);
        const intent = await m.intents.begin([at]);
        try {
          const changed = await m.ns.putDeleteMarker(path, change, current?.owner ?? "");
          await versions.drop(changed);
          m.changed(at, ...changed.pruned);
          return { versionId: versionIdOf(changed.marker), deleteMarker: true };
        } catch (err) {
          await versions.undo(path, change).catch(() => {});
          throw err;
        } finally {
          intent.settle();
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
      const intent = await m.intents.begin([at]);
      try {
        const fingerprint = restore ? await versions.putBack(path, restore) : undefined;
        const changed = await m.ns.removeVersion(
          path,
          found.current ? { current: true } : { version: found.info.version as string },
          restore ? { version: restore.version as string, ufsFingerprint: fingerprint as string } : undefined,
          bypassGovernance,
        );
        await versions.drop(changed);
        m.changed(at, ...changed.pruned);
        return { versionId, deleteMarker: found.info.deleteMarker === true };
      } finally {
        intent.settle();
      }
    }),
  );
}
