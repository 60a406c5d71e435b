import { randomBytes } from "node:crypto";
import { ErrorCode, type FileAttributes, type FileInfo, KoineError, locate, type Mount, type WrittenData } from "@koine/protocol";
import type { Database, RootDatabase } from "lmdb";
import { joinPath, type ParsedPath, parsePath } from "./paths.ts";

/** An inode as stored: a FileInfo without what is derived from its place. */
export type InodeRecord = Omit<FileInfo, "path" | "ufs"> & { parent: number };

type ChildKey = [number, string];

export const ROOT_ID = 1;

/** An inode with the path it had. */
export interface PlacedInode {
  inode: InodeRecord;
  path: string;
}

/** What a delete removed from the tree. */
export interface Removal {
  /** Removed inodes, children before parents; the last is the one named. */
  removed: PlacedInode[];
  /** Implicit parents removed because they were left empty, deepest first. */
  pruned: string[];
  /** The directory stays (only its S3 object was deleted). */
  keptDirectory: boolean;
}

/** Name of a child in its parent's index: directories sort as "name/", as S3 keys do. */
export function childName(name: string, type: FileInfo["type"]): string {
  return type === "directory" ? `${name}/` : name;
}

/**
 * The inode tree in LMDB, keyed by (parent id, child name). Reads are
 * synchronous; every change runs in one write transaction.
 */
export class Namespace {
  readonly root: RootDatabase;
  readonly inodes: Database<InodeRecord, number>;
  readonly children: Database<number, ChildKey>;
  readonly counters: Database<number, string>;
  readonly mounts: Database<Mount, string>;

  constructor(root: RootDatabase) {
    this.root = root;
    this.inodes = root.openDB({ name: "inodes" });
    this.children = root.openDB({ name: "children" });
    this.counters = root.openDB({ name: "counters" });
    this.mounts = root.openDB({ name: "mounts" });
  }

  /** Creates the root directory and root mount when missing. */
  async init(rootMount: Mount): Promise<void> {
    await this.root.transaction(() => {
      if (!this.inodes.get(ROOT_ID)) {
        this.inodes.put(ROOT_ID, newInode(ROOT_ID, 0, "", "directory", { owner: "root", mode: 0o755 }));
        this.counters.put("nextId", ROOT_ID + 1);
      }
      this.mounts.put(rootMount.path, rootMount);
    });
  }

  mountList(): Mount[] {
    return [...this.mounts.getRange({}).map((e) => e.value)];
  }

  /** The mount holding `path` and the path relative to its root. */
  ufsLocationOf(path: string): FileInfo["ufs"] {
    return locate(this.mountList(), path);
  }

  info(inode: InodeRecord, path: string): FileInfo {
    const { parent: _parent, ...rest } = inode;
    return { ...rest, path, ufs: this.ufsLocationOf(path) };
  }

  childId(parent: number, name: string, type: FileInfo["type"]): number | undefined {
    return this.children.get([parent, childName(name, type)]);
  }

  /** The inode at `path`: a file first, then a directory (only a directory for "dir/"). */
  lookup(parsed: ParsedPath): InodeRecord | undefined {
    let id = ROOT_ID;
    const { segments } = parsed;
    for (let i = 0; i < segments.length; i++) {
      const name = segments[i] as string;
      const last = i === segments.length - 1;
      const next =
        last && !parsed.directory
          ? (this.childId(id, name, "file") ?? this.childId(id, name, "directory"))
          : this.childId(id, name, "directory");
      if (next === undefined) return undefined;
      id = next;
    }
    return this.inodes.get(id);
  }

  /** The inode at `path`, or NOT_FOUND. */
  get(path: string): InodeRecord {
    const inode = this.lookup(parsePath(path));
    if (!inode) throw new KoineError(ErrorCode.NotFound, `Cannot find "${path}": no such file or directory`);
    return inode;
  }

  stat(path: string): FileInfo {
    return this.info(this.get(path), canonical(path));
  }

  hasChildren(dirId: number): boolean {
    for (const _ of this.children.getKeys({ start: [dirId, ""], end: [dirId + 1], limit: 1 })) return true;
    return false;
  }

  /** Children of a directory in name order, after `after`, at most `limit`. */
  listChildren(dirId: number, after: string | undefined, limit: number): InodeRecord[] {
    const out: InodeRecord[] = [];
    const start: ChildKey = [dirId, after ?? ""];
    for (const { key, value } of this.children.getRange({ start, end: [dirId + 1] })) {
      if (after !== undefined && (key[1] === after || key[1] === `${after}/`)) continue;
      const inode = this.inodes.get(value);
      if (inode) out.push(inode);
      if (out.length >= limit) break;
    }
    return out;
  }

  #nextId(): number {
    const id = this.counters.get("nextId") ?? ROOT_ID + 1;
    this.counters.put("nextId", id + 1);
    return id;
  }

  /**
   * Walks to the parent of `segments`, creating missing directories when
   * `create` says how (implicit for S3 puts, explicit for mkdir -p).
   * Runs inside a write transaction.
   */
  #parentFor(segments: string[], path: string, create?: { implicit: boolean; owner: string }): InodeRecord {
    let dir = this.inodes.get(ROOT_ID) as InodeRecord;
    for (let i = 0; i < segments.length - 1; i++) {
      const name = segments[i] as string;
      const existing = this.childId(dir.id, name, "directory");
      if (existing !== undefined) {
        dir = this.inodes.get(existing) as InodeRecord;
        continue;
      }
      if (this.childId(dir.id, name, "file") !== undefined) {
        throw new KoineError(ErrorCode.NotADirectory, `Cannot use "${path}": "${joinPath(segments.slice(0, i + 1))}" is a file`);
      }
      if (!create) {
        throw new KoineError(ErrorCode.NotFound, `Cannot find "${joinPath(segments.slice(0, i + 1))}": no such directory`);
      }
      const child = newInode(this.#nextId(), dir.id, name, "directory", { owner: create.owner, implicit: create.implicit });
      this.#link(child);
      dir = child;
    }
    return dir;
  }

  #link(inode: InodeRecord): void {
    this.inodes.put(inode.id, inode);
    this.children.put([inode.parent, childName(inode.name, inode.type)], inode.id);
    this.#touch(inode.parent);
  }

  #unlink(inode: InodeRecord): void {
    this.inodes.remove(inode.id);
    this.children.remove([inode.parent, childName(inode.name, inode.type)]);
    this.#touch(inode.parent);
  }

  #touch(dirId: number): void {
    const dir = this.inodes.get(dirId);
    if (dir) this.inodes.put(dirId, { ...dir, mtimeMs: Date.now() });
  }

  /** Makes a directory; with `recursive`, its missing parents too. */
  mkdir(path: string, options: { recursive?: boolean; exclusive?: boolean; owner?: string; mode?: number }): Promise<FileInfo> {
    const parsed = parsePath(path);
    if (parsed.segments.length === 0) return Promise.resolve(this.stat("/"));
    return this.root.transaction(() => {
      const { segments } = parsed;
      const owner = options.owner ?? "";
      const parent = this.#parentFor(segments, path, options.recursive ? { implicit: false, owner } : undefined);
      const name = segments[segments.length - 1] as string;
      if (this.childId(parent.id, name, "file") !== undefined) {
        throw new KoineError(ErrorCode.AlreadyExists, `Cannot make directory "${path}": a file is there`);
      }
      const existing = this.childId(parent.id, name, "directory");
      if (existing !== undefined) {
        const dir = this.inodes.get(existing) as InodeRecord;
        if (options.exclusive) throw new KoineError(ErrorCode.AlreadyExists, `Cannot make directory "${path}": it exists`);
        if (dir.implicit) this.inodes.put(dir.id, { ...dir, implicit: false });
        return this.info({ ...dir, implicit: false }, canonical(path));
      }
      const dir = newInode(this.#nextId(), parent.id, name, "directory", {
        owner,
        ...(options.mode === undefined ? {} : { mode: options.mode }),
      });
      this.#link(dir);
      return this.info(dir, canonical(path));
    });
  }

  /**
   * Makes `path` name the bytes just written, replacing what was there.
   * A path ending in "/" makes a directory that is also an (empty) object.
   */
  commitFile(
    path: string,
    data: WrittenData,
    blockSize: number,
    attributes: FileAttributes,
    createParents: boolean,
  ): Promise<{ info: FileInfo; replaced: InodeRecord | undefined }> {
    const parsed = parsePath(path);
    const { segments } = parsed;
    if (segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, `Cannot write "${path}": the root is a directory`);
    if (parsed.directory && data.size !== 0) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot write "${path}": a name ending in "/" holds no bytes`);
    }
    return this.root.transaction(() => {
      const owner = attributes.owner ?? "";
      const parent = this.#parentFor(segments, path, createParents ? { implicit: true, owner } : undefined);
      const name = segments[segments.length - 1] as string;
      const now = Date.now();
      const content = {
        size: data.size,
        etag: data.etag,
        contentId: data.contentId,
        ufsFingerprint: data.ufsFingerprint,
        blockSize,
        mtimeMs: now,
        persistence: "PERSISTED" as const,
        contentType: attributes.contentType ?? "application/octet-stream",
        userMeta: attributes.userMeta ?? {},
        headers: attributes.headers ?? {},
        tags: attributes.tags ?? {},
        checksums: attributes.checksums ?? {},
        acl: attributes.acl ?? "private",
      };
      if (parsed.directory) {
        if (this.childId(parent.id, name, "file") !== undefined) {
          throw new KoineError(ErrorCode.NotADirectory, `Cannot write "${path}": a file is there`);
        }
        const existingId = this.childId(parent.id, name, "directory");
        const existing = existingId === undefined ? undefined : this.inodes.get(existingId);
        const dir: InodeRecord = existing
          ? { ...existing, ...content, marker: true, implicit: false }
          : { ...newInode(this.#nextId(), parent.id, name, "directory", { owner }), ...content, marker: true };
        if (existing) this.inodes.put(dir.id, dir);
        else this.#link(dir);
        return { info: this.info(dir, canonical(path)), replaced: undefined };
      }
      if (this.childId(parent.id, name, "directory") !== undefined) {
        throw new KoineError(ErrorCode.IsADirectory, `Cannot write "${path}": a directory is there`);
      }
      const existingId = this.childId(parent.id, name, "file");
      const replaced = existingId === undefined ? undefined : this.inodes.get(existingId);
      const file: InodeRecord = {
        ...newInode(replaced?.id ?? this.#nextId(), parent.id, name, "file", {
          owner: attributes.owner ?? replaced?.owner ?? "",
          ...(attributes.mode === undefined ? {} : { mode: attributes.mode }),
        }),
        ...content,
        ...(replaced ? { createdMs: replaced.createdMs } : {}),
      };
      if (replaced) this.inodes.put(file.id, file);
      else this.#link(file);
      return { info: this.info(file, canonical(path)), replaced };
    });
  }

  /**
   * Throws what {@link commitFile} would throw for `path` because of the
   * tree's shape (a file where a directory must be, a directory where the
   * file goes, a missing parent), so that bytes are published only where a
   * commit can follow.
   */
  checkCommit(path: string, createParents: boolean): void {
    const { segments, directory } = parsePath(path);
    if (segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, `Cannot write "${path}": the root is a directory`);
    let id = ROOT_ID;
    for (let i = 0; i < segments.length - 1; i++) {
      const name = segments[i] as string;
      const dir = this.childId(id, name, "directory");
      if (dir !== undefined) {
        id = dir;
        continue;
      }
      if (this.childId(id, name, "file") !== undefined) {
        throw new KoineError(ErrorCode.NotADirectory, `Cannot use "${path}": "${joinPath(segments.slice(0, i + 1))}" is a file`);
      }
      if (!createParents)
        throw new KoineError(ErrorCode.NotFound, `Cannot find "${joinPath(segments.slice(0, i + 1))}": no such directory`);
      return;
    }
    const name = segments[segments.length - 1] as string;
    if (!directory && this.childId(id, name, "directory") !== undefined) {
      throw new KoineError(ErrorCode.IsADirectory, `Cannot write "${path}": a directory is there`);
    }
  }

  /** Every inode of the subtree at `inode` (at `path`), children before their parent. */
  *subtree(inode: InodeRecord, path: string): Generator<PlacedInode> {
    if (inode.type === "directory") {
      for (const { value } of this.children.getRange({ start: [inode.id, ""], end: [inode.id + 1] })) {
        const child = this.inodes.get(value);
        if (child) yield* this.subtree(child, `${path}/${child.name}`);
      }
    }
    yield { inode, path };
  }

  /**
   * Removes `path`. A directory needs `recursive` unless empty. With
   * `pruneImplicitParents`, implicit parents left empty go too (below the
   * top level). Deleting the S3 object "dir/" while keys remain below it
   * only clears the object (`keptDirectory`).
   */
  delete(path: string, options: { recursive?: boolean; pruneImplicitParents?: boolean; fileOnly?: boolean }): Promise<Removal> {
    const parsed = parsePath(path);
    if (parsed.segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, 'Cannot delete "/"');
    const at = canonical(path);
    return this.root.transaction(() => {
      const inode = this.lookup(parsed);
      if (!inode) throw new KoineError(ErrorCode.NotFound, `Cannot delete "${path}": no such file or directory`);
      if (options.fileOnly && inode.type === "directory" && !(parsed.directory && inode.marker)) {
        throw new KoineError(ErrorCode.NotFound, `Cannot delete "${path}": no such file`);
      }
      const removal: Removal = { removed: [], pruned: [], keptDirectory: false };
      if (inode.type === "directory" && parsed.directory && inode.marker && this.hasChildren(inode.id)) {
        this.inodes.put(inode.id, { ...inode, marker: false, implicit: true, etag: "", size: 0 });
        removal.removed.push({ inode, path: at });
        removal.keptDirectory = true;
      } else {
        if (inode.type === "directory" && !options.recursive && this.hasChildren(inode.id)) {
          throw new KoineError(ErrorCode.NotEmpty, `Cannot delete "${path}": the directory is not empty`);
        }
        for (const item of [...this.subtree(inode, at)]) {
          this.#unlink(item.inode);
          removal.removed.push(item);
        }
      }
      if (options.pruneImplicitParents) removal.pruned = this.#pruneFrom(inode.parent, at.slice(0, at.lastIndexOf("/")));
      return removal;
    });
  }

  /** Removes implicit directories left empty, from `dirId` (at `path`) upwards; returns their paths. */
  #pruneFrom(dirId: number, path: string): string[] {
    const pruned: string[] = [];
    let id = dirId;
    let at = path;
    for (;;) {
      const dir = this.inodes.get(id);
      if (!dir?.implicit || dir.marker || dir.parent === ROOT_ID || this.hasChildren(id)) return pruned;
      this.#unlink(dir);
      pruned.push(at);
      id = dir.parent;
      at = at.slice(0, at.lastIndexOf("/"));
    }
  }

  /** Moves `src` to `dst` (which must not exist) in one write. */
  rename(src: string, dst: string): Promise<FileInfo> {
    const from = parsePath(src);
    const to = parsePath(dst);
    if (to.segments.length === 0 || from.segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, 'Cannot rename "/"');
    if (dst.startsWith(`${canonical(src)}/`)) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot rename "${src}" into itself`);
    }
    return this.root.transaction(() => {
      const inode = this.lookup(from);
      if (!inode) throw new KoineError(ErrorCode.NotFound, `Cannot rename "${src}": no such file or directory`);
      if (this.lookup(to)) throw new KoineError(ErrorCode.AlreadyExists, `Cannot rename to "${dst}": it exists`);
      const parent = this.#parentFor(to.segments, dst);
      this.#unlink(inode);
      const moved = { ...inode, parent: parent.id, name: to.segments[to.segments.length - 1] as string };
      this.#link(moved);
      return this.info(moved, canonical(dst));
    });
  }

  setAttributes(path: string, attributes: FileAttributes): Promise<FileInfo> {
    return this.root.transaction(() => {
      const inode = this.get(path);
      const updated: InodeRecord = { ...inode };
      if (attributes.contentType !== undefined) updated.contentType = attributes.contentType;
      if (attributes.userMeta !== undefined) updated.userMeta = attributes.userMeta;
      if (attributes.headers !== undefined) updated.headers = attributes.headers;
      if (attributes.tags !== undefined) updated.tags = attributes.tags;
      if (attributes.acl !== undefined) updated.acl = attributes.acl;
      if (attributes.owner !== undefined) updated.owner = attributes.owner;
      if (attributes.group !== undefined) updated.group = attributes.group;
      if (attributes.mode !== undefined) updated.mode = attributes.mode;
      this.inodes.put(inode.id, updated);
      return this.info(updated, canonical(path));
    });
  }
}

/** "/a/b/" and "/a/b" name the same place; info paths have no trailing "/". */
export function canonical(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

export function newContentId(): string {
  return randomBytes(12).toString("hex");
}

function newInode(
  id: number,
  parent: number,
  name: string,
  type: FileInfo["type"],
  options: { owner?: string; mode?: number; implicit?: boolean },
): InodeRecord {
  const now = Date.now();
  return {
    id,
    parent,
    name,
    type,
    size: 0,
    createdMs: now,
    mtimeMs: now,
    etag: "",
    contentType: "",
    userMeta: {},
    owner: options.owner ?? "",
    group: "",
    mode: options.mode ?? (type === "directory" ? 0o755 : 0o644),
    contentId: "",
    blockSize: 1,
    persistence: "PERSISTED",
    ufsFingerprint: "",
    implicit: options.implicit ?? false,
    marker: false,
  } as InodeRecord;
}
