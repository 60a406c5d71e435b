import { parseDuration } from "@koine/config";
import { canonicalPath, joinPath, type LoadMetadata, parsePath } from "@koine/protocol";
import { UfsError, type UfsRegistry, type UfsStatus } from "@koine/ufs";
import { type InodeRecord, type Namespace, ROOT_ID } from "./namespace.ts";

/** How many entries' times of comparison are remembered at most (see UfsSync). */
const MAX_REMEMBERED = 1_000_000;

/** What a request says about loading from the under-store (Alluxio's loadMetadataType and syncIntervalMs). */
export interface SyncOptions {
  loadMetadata?: LoadMetadata | undefined;
  syncIntervalMs?: number | undefined;
}

/** The mount property naming a mount's sync interval (Alluxio's). */
export const SYNC_INTERVAL_PROPERTY = "alluxio.user.file.metadata.sync.interval";

/**
 * Keeps the namespace in step with the under-stores, lazily: a path the
 * namespace lacks is looked up in its under-store (and taken in when
 * there), a directory's children are compared with the under-store's
 * listing the first time they are listed and again once older than the
 * sync interval, and so is a file's status. Mount properties may set the
 * interval per mount; a request may set it, or force a check (ALWAYS) or
 * forbid one (NEVER).
 */
export class UfsSync {
  readonly #ns: Namespace;
  readonly #stores: UfsRegistry;
  readonly #defaultIntervalMs: number;
  readonly #blockSize: number;
  /** Called with the paths a sync changed, for change events. */
  readonly #onChanged: (paths: string[]) => void;
  /** Whether a top-level name is this namespace's (a shard holds only its own). */
  readonly #owns: (topLevelName: string) => boolean;
  /**
   * When entries were last found unchanged in the under-store, by inode id:
   * kept here, not journaled, so that a check that finds nothing to change
   * writes nothing (a replica that takes over checks them again once).
   */
  readonly #foundUnchanged = new Map<number, number>();

  constructor(
    ns: Namespace,
    stores: UfsRegistry,
    options: { intervalMs: number; blockSize: number; onChanged: (paths: string[]) => void; owns?: (topLevelName: string) => boolean },
  ) {
    this.#ns = ns;
    this.#stores = stores;
    this.#defaultIntervalMs = options.intervalMs;
    this.#blockSize = options.blockSize;
    this.#onChanged = options.onChanged;
    this.#owns = options.owns ?? (() => true);
  }

  /** The sync interval at `path`: the request's, else its mount's, else the service default; -1 is never. */
  intervalAt(path: string, options: SyncOptions): number {
    if (options.syncIntervalMs !== undefined) return options.syncIntervalMs;
    const { mountId } = this.#ns.ufsLocationOf(path);
    const mount = this.#ns.mountList().find((m) => m.id === mountId);
    const text = mount?.properties?.[SYNC_INTERVAL_PROPERTY];
    if (text !== undefined) {
      try {
        return parseDuration(text, SYNC_INTERVAL_PROPERTY);
      } catch {
        // checked when mounted; an old record falls back to the default
      }
    }
    return this.#defaultIntervalMs;
  }

  /** When `inode` was last compared with the under-store (none: never). */
  #checkedMs(inode: InodeRecord): number | undefined {
    const unchanged = this.#foundUnchanged.get(inode.id);
    if (unchanged === undefined) return inode.syncedMs;
    return Math.max(unchanged, inode.syncedMs ?? 0);
  }

  /** Remembers that `inode` was found as the under-store holds it at `sinceMs`. */
  #unchanged(inode: InodeRecord, sinceMs: number): void {
    // A bound on memory: forgetting them costs one more comparison each.
    if (this.#foundUnchanged.size >= MAX_REMEMBERED) this.#foundUnchanged.clear();
    this.#foundUnchanged.set(inode.id, sinceMs);
  }

  /** Whether directory `dir` at `path` is due to be compared with the under-store again (as a request's `options` say). */
  directoryDue(dir: InodeRecord, path: string, options: SyncOptions = {}): boolean {
    return this.#due(this.#checkedMs(dir), path, options);
  }

  /** Whether directory `dir` was ever compared with the under-store. */
  directoryCompared(dir: InodeRecord): boolean {
    return this.#checkedMs(dir) !== undefined;
  }

  #due(checkedMs: number | undefined, path: string, options: SyncOptions): boolean {
    if (options.loadMetadata === "NEVER") return false;
    if (options.loadMetadata === "ALWAYS" || checkedMs === undefined) return true;
    const interval = this.intervalAt(path, options);
    return interval >= 0 && Date.now() - checkedMs >= interval;
  }

  async #ufsStat(path: string): Promise<UfsStatus | undefined> {
    const at = this.#ns.ufsLocationOf(path);
    const ufs = await this.#stores.get(at.mountId);
    try {
      return await ufs.stat(at.path);
    } catch (err) {
      if (err instanceof UfsError && (err.code === "INVALID_ARGUMENT" || err.code === "NOT_A_DIRECTORY")) return undefined;
      throw err;
    }
  }

  /** Brings the entry at `path` up to date: loaded when missing, re-checked when due. */
  async path(path: string, options: SyncOptions = {}): Promise<void> {
    if (options.loadMetadata === "NEVER") return;
    const parsed = parsePath(path);
    const { segments } = parsed;
    let inode = this.#ns.inode(ROOT_ID) as InodeRecord;
    let found = 0;
    for (; found < segments.length; found++) {
      const name = segments[found] as string;
      const last = found === segments.length - 1;
      const next =
        last && !parsed.directory
          ? (this.#ns.childId(inode.id, name, "file") ?? this.#ns.childId(inode.id, name, "directory"))
          : this.#ns.childId(inode.id, name, "directory");
      if (next === undefined) break;
      inode = this.#ns.inode(next) as InodeRecord;
    }
    if (found === segments.length) {
      if (inode.type === "file" && inode.persistence === "PERSISTED" && this.#due(this.#checkedMs(inode) ?? inode.mtimeMs, path, options)) {
        const sinceMs = Date.now();
        const status = await this.#ufsStat(canonicalPath(path));
        if (status?.type === "file" && status.fingerprint === inode.ufsFingerprint) this.#unchanged(inode, sinceMs);
        else if (await this.#ns.refreshFile(inode.id, status, sinceMs)) this.#onChanged([canonicalPath(path)]);
      }
      return;
    }
    // Missing: a directory listed within the interval has said all it holds.
    if (options.loadMetadata !== "ALWAYS" && !this.#due(this.#checkedMs(inode), path, { ...options, loadMetadata: "ONCE" })) return;
    for (; found < segments.length; found++) {
      const at = joinPath(segments.slice(0, found + 1));
      const sinceMs = Date.now();
      const status = await this.#ufsStat(at);
      const last = found === segments.length - 1;
      if (!status || ((!last || parsed.directory) && status.type !== "directory")) return;
      const child = await this.#ns.adopt(inode.id, segments[found] as string, status, sinceMs, this.#blockSize);
      if (!child) return;
      this.#onChanged([at]);
      inode = child;
    }
  }

  /**
   * Brings directory `path` and its children up to date (a listing that
   * walks further brings each directory it enters up to date as it gets
   * there: see serveTree).
   */
  async directory(path: string, options: SyncOptions = {}): Promise<void> {
    if (options.loadMetadata === "NEVER") return;
    await this.path(path, options);
    // The directory, even where a file shares its name.
    const inode = this.#ns.lookup({ ...parsePath(path), directory: true });
    if (inode?.type === "directory") await this.#children(inode, canonicalPath(path), options);
  }

  async #children(dir: InodeRecord, path: string, options: SyncOptions): Promise<void> {
    if (this.#due(this.#checkedMs(dir), path, options)) {
      const at = this.#ns.ufsLocationOf(path);
      const ufs = await this.#stores.get(at.mountId);
      const sinceMs = Date.now();
      const entries = await ufs.list(at.path).catch((err) => {
        if (err instanceof UfsError && (err.code === "NOT_FOUND" || err.code === "NOT_A_DIRECTORY")) return undefined;
        throw err;
      });
      if (entries) {
        const held = dir.id === ROOT_ID ? entries.filter((e) => this.#owns(e.name)) : entries;
        // Journaled (with the whole listing) only when something differs.
        if (!this.#ns.reconcileChanges(dir.id, path, held, sinceMs)) this.#unchanged(dir, sinceMs);
        else {
          const changed = await this.#ns.reconcile(dir.id, path, held, sinceMs, this.#blockSize);
          if (changed.length > 0) this.#onChanged(changed);
        }
      }
    }
  }
}
