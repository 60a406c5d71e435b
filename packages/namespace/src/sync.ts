import { parseDuration } from "@koine/config";
import { joinPath, type LoadMetadata, parsePath } from "@koine/protocol";
import { UfsError, type UfsRegistry, type UfsStatus } from "@koine/ufs";
import { canonical, type InodeRecord, type Namespace, ROOT_ID } from "./namespace.ts";

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

  /** Whether directory `dir` at `path` is due to be compared with the under-store again. */
  directoryDue(dir: InodeRecord, path: string): boolean {
    return this.#due(dir.syncedMs, path, {});
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
      if (inode.type === "file" && inode.persistence === "PERSISTED" && this.#due(inode.syncedMs ?? inode.mtimeMs, path, options)) {
        const sinceMs = Date.now();
        const status = await this.#ufsStat(canonical(path));
        if (await this.#ns.refreshFile(inode.id, status, sinceMs)) this.#onChanged([canonical(path)]);
      }
      return;
    }
    // Missing: a directory listed within the interval has said all it holds.
    if (options.loadMetadata !== "ALWAYS" && !this.#due(inode.syncedMs, path, { ...options, loadMetadata: "ONCE" })) return;
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

  /** Brings directory `path` and its children (with `recursive`, all below it) up to date. */
  async directory(path: string, options: SyncOptions = {}, recursive = false): Promise<void> {
    if (options.loadMetadata === "NEVER") return;
    await this.path(path, options);
    const inode = this.#ns.lookup(parsePath(path));
    if (inode?.type === "directory") await this.#children(inode, canonical(path), options, recursive);
  }

  async #children(dir: InodeRecord, path: string, options: SyncOptions, recursive: boolean): Promise<void> {
    if (this.#due(dir.syncedMs, path, options)) {
      const at = this.#ns.ufsLocationOf(path);
      const ufs = await this.#stores.get(at.mountId);
      const sinceMs = Date.now();
      const entries = await ufs.list(at.path).catch((err) => {
        if (err instanceof UfsError && (err.code === "NOT_FOUND" || err.code === "NOT_A_DIRECTORY")) return undefined;
        throw err;
      });
      if (entries) {
        const held = dir.id === ROOT_ID ? entries.filter((e) => this.#owns(e.name)) : entries;
        const changed = await this.#ns.reconcile(dir.id, path, held, sinceMs, this.#blockSize);
        if (changed.length > 0) this.#onChanged(changed);
      }
    }
    if (!recursive) return;
    const base = path === "/" ? "" : path;
    for (const child of this.#ns.listChildren(dir.id, undefined, Number.MAX_SAFE_INTEGER)) {
      if (child.type === "directory") await this.#children(child, `${base}/${child.name}`, options, true);
    }
  }
}
