import { createHash, randomBytes } from "node:crypto";
import {
  canonicalPath,
  childPath,
  ErrorCode,
  type FileAttributes,
  type FileInfo,
  isWithin,
  joinPath,
  KoineError,
  locate,
  lockOf,
  type Mount,
  namespaceName,
  type ParsedPath,
  type PersistenceState,
  parentPath,
  parsePath,
  quotaExceeded,
  type Retention,
  type UfsLocation,
  type Versioning,
  versionIdOf,
  type WrittenData,
} from "@koine/protocol";
import type { UfsStatus } from "@koine/ufs";
import type { Database, RootDatabase } from "lmdb";

/** An inode as stored: a FileInfo without what is derived from its place. */
export type InodeRecord = Omit<FileInfo, "path" | "ufs"> & { parent: number };

type ChildKey = [number, string];

export const ROOT_ID = 1;

/** Counters of the last journal entry applied: the message's sequence and the entry's place in it. */
const JOURNAL_SEQ = "journalSeq";
const JOURNAL_INDEX = "journalIndex";
/** Counter of how many shards the namespace was split into. */
const SHARDS = "shards";

/** The changes of the namespace the journal carries: each a method of {@link Namespace}, replayed by {@link Namespace.apply}. */
export const MUTATIONS = [
  "mkdir",
  "commitFile",
  "delete",
  "rename",
  "setAttributes",
  "markPersisted",
  "addMount",
  "removeMount",
  "adopt",
  "refreshFile",
  "reconcile",
  "recordShards",
  "putDeleteMarker",
  "removeVersion",
  "setVersionAttributes",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/**
 * One change as the journal holds it: the method ({@link MUTATIONS}, or a
 * change another store defined with {@link Namespace.defineChange}), its
 * arguments and the time it was made at.
 */
export interface JournalEntry {
  op: string;
  args: unknown[];
  at: number;
}

/** Where an entry is in the journal: its message's stream sequence and its index in the message. */
export interface JournalPosition {
  seq: number;
  index: number;
}

/** Named databases an LMDB of metadata may hold (the namespace's, users, uploads, intents; LMDB's default is 12). */
export const MAX_DATABASES = 32;

/** The last journal entry whose changes are in the LMDB `root` (none: the journal is read from its start). */
export function journalPositionOf(root: RootDatabase): JournalPosition | undefined {
  return positionIn(root.openDB({ name: "counters" }));
}

function positionIn(counters: Database): JournalPosition | undefined {
  const seq = counters.get(JOURNAL_SEQ);
  return seq === undefined ? undefined : { seq, index: counters.get(JOURNAL_INDEX) ?? 0 };
}

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

/** A change of whether a content's cached pages must be kept. */
export interface PinChange {
  contentId: string;
  pinned: boolean;
}

/** Pages of this inode's content must stay cached: it is pinned, or the cache holds its only copy. */
function holdsPinnedContent(inode: InodeRecord | undefined): inode is InodeRecord {
  return (
    inode !== undefined && inode.type === "file" && inode.contentId !== "" && (inode.pinned === true || inode.persistence !== "PERSISTED")
  );
}

/**
 * A write (or a delete) in a bucket with versioning, as metadata made it in
 * the under-store: whether the current version is kept as a noncurrent one,
 * and where its bytes went (none: they are only in the cache).
 */
export interface VersionedChange {
  versioning: Versioning;
  kept?: { at?: { ufs: UfsLocation; ufsFingerprint: string } };
}

/**
 * Refuses a retention change S3 refuses: a COMPLIANCE retention still
 * running only lengthens; a GOVERNANCE one is shortened, removed or turned
 * another way only with `bypassGovernance`.
 */
function checkRetentionChange(
  before: Retention | undefined,
  after: Retention | null,
  nowMs: number,
  bypassGovernance: boolean,
  what: string,
): void {
  if (!before || before.untilMs <= nowMs) return;
  const lengthens = after !== null && after.untilMs >= before.untilMs;
  if (before.mode === "COMPLIANCE" && !(lengthens && after?.mode === "COMPLIANCE")) {
    throw new KoineError(ErrorCode.PermissionDenied, `Cannot shorten or lift the COMPLIANCE retention of ${what}`);
  }
  if (before.mode === "GOVERNANCE" && !lengthens && !bypassGovernance) {
    throw new KoineError(ErrorCode.PermissionDenied, `Cannot shorten or lift the GOVERNANCE retention of ${what} without bypassing it`);
  }
}

/** The version fields of a file. */
function versionOf(inode: InodeRecord): Pick<FileInfo, "version" | "nullVersion"> {
  return {
    ...(inode.version === undefined ? {} : { version: inode.version }),
    ...(inode.nullVersion ? { nullVersion: true } : {}),
  };
}

/** Whether a change in a bucket with `versioning` keeps the current version `inode` (S3 drops only a null version while suspended). */
export function keepsCurrent(versioning: Versioning, inode: InodeRecord): boolean {
  return versioning === "Enabled" || versionIdOf(inode) !== "null";
}

/** What a change of versions left for metadata to do in the under-store. */
export interface VersionsChanged {
  /** Versions gone for good, whose bytes (at their `ufs`) go too. */
  dropped: FileInfo[];
  /** Implicit parents removed because they were left empty. */
  pruned: string[];
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
  readonly #root: RootDatabase;
  readonly #inodes: Database<InodeRecord, number>;
  readonly #children: Database<number, ChildKey>;
  readonly #counters: Database<number, string>;
  readonly #mounts: Database<Mount, string>;
  /** Content id → inode id, for contents whose pages must stay cached. */
  readonly #pins: Database<number, string>;
  /** Inode ids with a time to live. */
  readonly #ttls: Database<boolean, number>;
  /** Inode id → content id, for files waiting to be persisted (ASYNC_THROUGH). */
  readonly #toPersist: Database<string, number>;
  /** Top-level inode id → the bytes of the files below it (what quotas are checked against). */
  readonly #usage: Database<number, number>;
  /** Noncurrent versions and delete markers of S3 keys, by (path, version): as they were, with where their bytes were kept. */
  readonly #versions: Database<FileInfo, [string, string]>;
  /**
   * The same, as the transactions that ran left it: changed in the
   * transaction's callback (and undone if it throws), so that a quota check
   * never sees a commit's bytes both as used and as still held.
   */
  readonly #used = new Map<number, number>();
  /** Usage changes of the running transaction, undone if it throws. */
  #usageLog: [number, number][] = [];
  /** Bytes of writes between their quota check and their commit, by path; their sums by top-level inode. */
  readonly #holds = new Map<string, QuotaHold[]>();
  readonly #held = new Map<number, number>();
  /** Pin changes of committed transactions, until {@link takePinChanges}. */
  #pinLog: PinChange[] = [];
  /** While a journal entry is applied: its time (the clock of every change it makes) and its place in the journal. */
  #applying: { at: number; position: JournalPosition } | undefined;
  /** Changes the other stores of this LMDB define (users, uploads), by name. */
  readonly #defined = new Map<string, (at: number, ...args: never) => unknown>();

  constructor(root: RootDatabase) {
    this.#root = root;
    this.#inodes = root.openDB({ name: "inodes" });
    this.#children = root.openDB({ name: "children" });
    this.#counters = root.openDB({ name: "counters" });
    this.#mounts = root.openDB({ name: "mounts" });
    this.#pins = root.openDB({ name: "pins" });
    this.#ttls = root.openDB({ name: "ttls" });
    this.#toPersist = root.openDB({ name: "toPersist" });
    this.#usage = root.openDB({ name: "usage" });
    this.#versions = root.openDB({ name: "versions" });
  }

  /** Runs `change` in one write transaction; a change that throws leaves no trace, pin log included. */
  #tx<T>(change: () => T): Promise<T> {
    // The entry being applied when the change is asked for is the one it belongs to (its callback runs later, in order).
    const applying = this.#applying;
    return this.#root.transaction(() => {
      const mark = this.#pinLog.length;
      this.#usageLog = [];
      const outer = this.#applying;
      this.#applying = applying;
      try {
        const result = change();
        // The entry's place is stored with what it changed: a restart replays what comes after it, once.
        if (this.#applying) {
          this.#counters.put(JOURNAL_SEQ, this.#applying.position.seq);
          this.#counters.put(JOURNAL_INDEX, this.#applying.position.index);
        }
        return result;
      } catch (err) {
        this.#pinLog.length = mark;
        for (const [top, bytes] of this.#usageLog.reverse()) this.#used.set(top, (this.#used.get(top) ?? 0) - bytes);
        throw err;
      } finally {
        this.#usageLog = [];
        this.#applying = outer;
      }
    });
  }

  /** The time of the change being made: the journal entry's, so that every replica stores the same. */
  #now(): number {
    return this.#applying?.at ?? Date.now();
  }

  /**
   * How many shards the namespace was split into when this shard was made
   * (1 for a namespace made before shards that holds entries; none: not
   * recorded yet, and empty).
   */
  shardCount(): number | undefined {
    const recorded = this.#counters.get(SHARDS);
    if (recorded !== undefined) return recorded;
    return this.listChildren(ROOT_ID, undefined, 1).length > 0 ? 1 : undefined;
  }

  /** Records how many shards the namespace is split into (see {@link shardCount}). */
  recordShards(count: number): Promise<void> {
    return this.#tx(() => {
      this.#counters.put(SHARDS, count);
    });
  }

  /** The last journal entry whose changes are in this LMDB (none: the journal is read from its start). */
  journalPosition(): JournalPosition | undefined {
    return positionIn(this.#counters);
  }

  /**
   * Makes the change a journal entry names, at its time, recording its
   * place with it. Entries are applied in journal order; the same entries
   * in the same order make the same LMDB on every replica.
   */
  apply(entry: JournalEntry, position: JournalPosition): Promise<unknown> {
    const own = (MUTATIONS as readonly string[]).includes(entry.op);
    if (!own && !this.#defined.has(entry.op)) {
      return Promise.reject(new KoineError(ErrorCode.Internal, `Unknown journal entry "${entry.op}"`));
    }
    // Each change asks for its transaction before it first waits: the entry is bound to it there, and entries
    // applied one after another without waiting commit together, in order.
    this.#applying = { at: entry.at, position };
    try {
      // JSON keeps no undefined: an argument left out arrives as null.
      const args = entry.args.map((a) => (a === null ? undefined : a));
      if (!own) return this.change(entry.op, args);
      return (this[entry.op as Mutation] as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } catch (err) {
      return Promise.reject(err);
    } finally {
      this.#applying = undefined;
    }
  }

  /**
   * Defines a change another store of this LMDB makes (users, uploads):
   * made with {@link change}, it runs `body` in one write transaction with
   * the change's time, and is journaled and replayed as the namespace's own
   * changes are. Its arguments are all it may depend on besides LMDB.
   */
  defineChange<A extends unknown[]>(op: string, body: (at: number, ...args: A) => unknown): void {
    this.#defined.set(op, body);
  }

  /**
   * Makes a change defined with {@link defineChange}; what its body returns.
   * (`_done`: when a journaled namespace answers, see JournaledChanges; here the change is made, then answered.)
   */
  change(op: string, args: unknown[], _done?: "applied" | "journaled"): Promise<unknown> {
    const body = this.#defined.get(op);
    if (!body) return Promise.reject(new KoineError(ErrorCode.Internal, `Unknown change "${op}"`));
    return this.#tx(() => body(this.#now(), ...(args as never)));
  }

  /** How many inodes (files and directories) there are. */
  inodeCount(): number {
    return (this.#inodes.getStats() as { entryCount: number }).entryCount;
  }

  /** The inode with id `id`. */
  inode(id: number): InodeRecord | undefined {
    return this.#inodes.get(id);
  }

  /**
   * The children of a directory in index order ("name", "dir/"), from index
   * name `start` on. Holds an LMDB read cursor until the walk ends: end it
   * (return()) when stopping early.
   */
  *children(dirId: number, start = ""): Generator<{ name: string; inode: InodeRecord }> {
    for (const { key, value } of this.#children.getRange({ start: [dirId, start], end: [dirId + 1] })) {
      const inode = this.#inodes.get(value);
      if (inode) yield { name: key[1], inode };
    }
  }

  /** The child of a directory by its index name ("name", or "dir/" for a directory). */
  childByIndexName(dirId: number, indexName: string): InodeRecord | undefined {
    const id = this.#children.get([dirId, indexName]);
    return id === undefined ? undefined : this.#inodes.get(id);
  }

  /** The file holding `contentId` pinned or not yet persisted, if any. */
  holderOf(contentId: string): InodeRecord | undefined {
    const id = this.#pins.get(contentId);
    const inode = id === undefined ? undefined : this.#inodes.get(id);
    return inode?.contentId === contentId ? inode : undefined;
  }

  /** Contents whose pages must stay cached. */
  pinnedContents(): string[] {
    return [...this.#pins.getKeys({})];
  }

  /** Inodes whose time to live has run out at `nowMs`. */
  expired(nowMs: number): InodeRecord[] {
    const out: InodeRecord[] = [];
    for (const id of [...this.#ttls.getKeys({})]) {
      const inode = this.#inodes.get(id);
      if (inode && inode.ttlMs !== undefined && inode.createdMs + inode.ttlMs <= nowMs) out.push(inode);
    }
    return out;
  }

  /** Contents of ASYNC_THROUGH versions still to be persisted. */
  waitingToPersist(): string[] {
    return [...this.#toPersist.getRange({}).map((e) => e.value)];
  }

  /** Pin changes since the last call, for the cache nodes. */
  takePinChanges(): PinChange[] {
    const changes = this.#pinLog;
    this.#pinLog = [];
    return changes;
  }

  /** Stores an inode and keeps the pins, TTL and persist indexes in step with it. */
  #put(inode: InodeRecord, before: InodeRecord | undefined): void {
    this.#inodes.put(inode.id, inode);
    this.#reindex(before, inode);
  }

  #reindex(before: InodeRecord | undefined, after: InodeRecord | undefined): void {
    const pinBefore = holdsPinnedContent(before) ? before.contentId : undefined;
    const pinAfter = holdsPinnedContent(after) ? after.contentId : undefined;
    if (pinBefore !== pinAfter) {
      if (pinBefore) {
        this.#pins.remove(pinBefore);
        this.#pinLog.push({ contentId: pinBefore, pinned: false });
      }
      if (pinAfter && after) {
        this.#pins.put(pinAfter, after.id);
        this.#pinLog.push({ contentId: pinAfter, pinned: true });
      }
    }
    const id = (after ?? before)?.id as number;
    if (after?.ttlMs !== undefined && after.ttlMs >= 0) this.#ttls.put(id, true);
    else if (before?.ttlMs !== undefined) this.#ttls.remove(id);
    if (after?.persistence === "TO_BE_PERSISTED") this.#toPersist.put(id, after.contentId);
    else if (before?.persistence === "TO_BE_PERSISTED") this.#toPersist.remove(id);
    const bytes = fileBytes(after) - fileBytes(before);
    if (bytes !== 0) this.#addUsage(this.#topOf((after ?? before) as InodeRecord), bytes);
  }

  /** The top-level inode `inode` is, or is below; undefined for the root. Its parents must be linked. */
  #topOf(inode: InodeRecord): number | undefined {
    let at: InodeRecord | undefined = inode;
    while (at && at.parent !== ROOT_ID) at = at.id === ROOT_ID ? undefined : this.#inodes.get(at.parent);
    return at?.id;
  }

  #addUsage(top: number | undefined, bytes: number): void {
    if (top === undefined || bytes === 0) return;
    const used = (this.#used.get(top) ?? 0) + bytes;
    this.#used.set(top, used);
    this.#usageLog.push([top, bytes]);
    if (used > 0) this.#usage.put(top, used);
    else this.#usage.remove(top);
  }

  /** The bytes of the files below top-level directory `id`. */
  usedBytes(id: number): number {
    return this.#used.get(id) ?? 0;
  }

  /** The top-level directory of `path` when it has a quota. */
  #quotaOf(path: string): InodeRecord | undefined {
    const [first] = parsePath(path).segments;
    const id = first === undefined ? undefined : this.childId(ROOT_ID, first, "directory");
    const top = id === undefined ? undefined : this.#inodes.get(id);
    return top?.quotaBytes === undefined ? undefined : top;
  }

  /**
   * Refuses (QUOTA_EXCEEDED) adding `bytes` below the top-level directory
   * of `path` beyond its quota, counting the bytes writes hold.
   */
  checkQuota(path: string, bytes: number): void {
    this.#checkQuotaOf(this.#quotaOf(path), bytes);
  }

  #checkQuotaOf(top: InodeRecord | undefined, bytes: number): void {
    if (bytes <= 0 || top?.quotaBytes === undefined) return;
    const used = this.usedBytes(top.id);
    const held = this.#held.get(top.id) ?? 0;
    if (used + held + bytes > top.quotaBytes) throw quotaExceeded(top.name, bytes, used, top.quotaBytes, held);
  }

  /**
   * Checks a write of `bytes` more at `path` against its quota and holds
   * them until the write's commit (which lets them go in the transaction
   * that counts them) or {@link release}: writers racing together cannot
   * pass a quota that each alone would not, nor be refused room that is free.
   */
  hold(path: string, bytes: number): QuotaHold {
    const top = this.#quotaOf(path);
    if (top === undefined || bytes <= 0) return { path: canonicalPath(path), top: 0, bytes: 0, released: true };
    this.#checkQuotaOf(top, bytes);
    const hold: QuotaHold = { path: canonicalPath(path), top: top.id, bytes, released: false };
    this.#holds.set(hold.path, [...(this.#holds.get(hold.path) ?? []), hold]);
    this.#held.set(hold.top, (this.#held.get(hold.top) ?? 0) + hold.bytes);
    return hold;
  }

  /** Lets a hold go (once; a commit may have let it go already). */
  release(hold: QuotaHold): void {
    if (hold.released) return;
    hold.released = true;
    const left = (this.#held.get(hold.top) ?? 0) - hold.bytes;
    if (left > 0) this.#held.set(hold.top, left);
    else this.#held.delete(hold.top);
    const rest = (this.#holds.get(hold.path) ?? []).filter((h) => h !== hold);
    if (rest.length > 0) this.#holds.set(hold.path, rest);
    else this.#holds.delete(hold.path);
  }

  /** Counts the bytes of every top-level directory again (once, for a namespace kept before usage was). */
  #countUsage(): void {
    const sums = new Map<number, number>();
    for (const { value } of this.#children.getRange({ start: [ROOT_ID, ""], end: [ROOT_ID + 1] })) {
      const top = this.#inodes.get(value);
      if (!top) continue;
      let bytes = 0;
      for (const { inode } of this.subtree(top, "")) bytes += fileBytes(inode);
      if (bytes > 0) sums.set(top.id, bytes);
    }
    for (const [id, bytes] of sums) this.#usage.put(id, bytes);
  }

  /** Reads the usage of every top-level directory into memory. */
  #loadUsage(): void {
    this.#used.clear();
    for (const { key, value } of this.#usage.getRange({})) this.#used.set(key, value);
  }

  /** Creates the root directory and root mount when missing. */
  async init(rootMount: Mount): Promise<void> {
    await this.#tx(() => {
      if (!this.#inodes.get(ROOT_ID)) {
        this.#inodes.put(ROOT_ID, newInode(ROOT_ID, 0, "", "directory", { owner: "root", mode: 0o755 }, 0));
        this.#counters.put("nextId", ROOT_ID + 1);
      }
      if (this.#counters.get("usageCounted") !== 1) {
        this.#countUsage();
        this.#counters.put("usageCounted", 1);
      }
      this.#loadUsage();
      this.#mounts.put(rootMount.path, rootMount);
    });
  }

  mountList(): Mount[] {
    return [...this.#mounts.getRange({}).map((e) => e.value)];
  }

  /** The mount holding `path` and the path relative to its root. */
  ufsLocationOf(path: string): FileInfo["ufs"] {
    return locate(this.mountList(), path);
  }

  info(inode: InodeRecord, path: string): FileInfo {
    const { parent, ...rest } = inode;
    const usage = parent === ROOT_ID && inode.type === "directory" ? { usedBytes: this.usedBytes(inode.id) } : {};
    return { ...rest, ...usage, path, ufs: this.ufsLocationOf(path) };
  }

  childId(parent: number, name: string, type: FileInfo["type"]): number | undefined {
    return this.#children.get([parent, childName(name, type)]);
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
    return this.#inodes.get(id);
  }

  /** The inode at `path`, or NOT_FOUND. */
  get(path: string): InodeRecord {
    const inode = this.lookup(parsePath(path));
    if (!inode) throw new KoineError(ErrorCode.NotFound, `Cannot find "${path}": no such file or directory`);
    return inode;
  }

  stat(path: string): FileInfo {
    return this.info(this.get(path), canonicalPath(path));
  }

  hasChildren(dirId: number): boolean {
    for (const _ of this.#children.getKeys({ start: [dirId, ""], end: [dirId + 1], limit: 1 })) return true;
    return false;
  }

  /** Children of a directory in name order, after `after`, at most `limit`. */
  listChildren(dirId: number, after: string | undefined, limit: number): InodeRecord[] {
    const out: InodeRecord[] = [];
    const start: ChildKey = [dirId, after ?? ""];
    for (const { key, value } of this.#children.getRange({ start, end: [dirId + 1] })) {
      if (after !== undefined && (key[1] === after || key[1] === `${after}/`)) continue;
      const inode = this.#inodes.get(value);
      if (inode) out.push(inode);
      if (out.length >= limit) break;
    }
    return out;
  }

  #nextId(): number {
    const id = this.#counters.get("nextId") ?? ROOT_ID + 1;
    this.#counters.put("nextId", id + 1);
    return id;
  }

  /**
   * Walks to the parent of `segments`, creating missing directories when
   * `create` says how (implicit for S3 puts, explicit for mkdir -p).
   * Runs inside a write transaction.
   */
  #parentFor(segments: string[], path: string, create?: { implicit: boolean; owner: string; group: string; mode?: number }): InodeRecord {
    let dir = this.#inodes.get(ROOT_ID) as InodeRecord;
    for (let i = 0; i < segments.length - 1; i++) {
      const name = segments[i] as string;
      const existing = this.childId(dir.id, name, "directory");
      if (existing !== undefined) {
        dir = this.#inodes.get(existing) as InodeRecord;
        continue;
      }
      // S3 keys "a" and "a/b" coexist: a directory made for a put goes beside a file of its name.
      if (!create?.implicit && this.childId(dir.id, name, "file") !== undefined) {
        throw new KoineError(ErrorCode.NotADirectory, `Cannot use "${path}": "${joinPath(segments.slice(0, i + 1))}" is a file`);
      }
      if (!create) {
        throw new KoineError(ErrorCode.NotFound, `Cannot find "${joinPath(segments.slice(0, i + 1))}": no such directory`);
      }
      const child = newInode(
        this.#nextId(),
        dir.id,
        name,
        "directory",
        {
          owner: create.owner,
          group: create.group,
          implicit: create.implicit,
          ...(create.mode === undefined ? {} : { mode: directoryMode(create.mode) }),
        },
        this.#now(),
      );
      this.#link(child);
      dir = child;
    }
    return dir;
  }

  /** A new directory inode, made now, with the next id. */
  #newDirectory(parent: number, name: string, options: { owner: string; group: string; mode: number | undefined }): InodeRecord {
    const { mode, ...rest } = options;
    return newInode(this.#nextId(), parent, name, "directory", { ...rest, ...(mode === undefined ? {} : { mode }) }, this.#now());
  }

  #link(inode: InodeRecord): void {
    this.#put(inode, undefined);
    this.#children.put([inode.parent, childName(inode.name, inode.type)], inode.id);
    this.#touch(inode.parent);
  }

  #unlink(inode: InodeRecord): void {
    this.#reindex(inode, undefined);
    this.#inodes.remove(inode.id);
    if (inode.parent === ROOT_ID) this.#addUsage(inode.id, -this.usedBytes(inode.id));
    this.#children.remove([inode.parent, childName(inode.name, inode.type)]);
    this.#touch(inode.parent);
  }

  #touch(dirId: number): void {
    const dir = this.#inodes.get(dirId);
    if (dir) this.#inodes.put(dirId, { ...dir, mtimeMs: this.#now() });
  }

  /** Makes a directory; with `recursive`, its missing parents too. */
  mkdir(
    path: string,
    options: { recursive?: boolean; exclusive?: boolean; owner?: string; group?: string; mode?: number },
  ): Promise<FileInfo> {
    const parsed = parsePath(path);
    if (parsed.segments.length === 0) return Promise.resolve(this.stat("/"));
    return this.#tx(() => {
      const { segments } = parsed;
      const owner = options.owner ?? "";
      const group = options.group ?? "";
      const parent = this.#parentFor(
        segments,
        path,
        options.recursive ? { implicit: false, owner, group, ...(options.mode === undefined ? {} : { mode: options.mode }) } : undefined,
      );
      const name = segments[segments.length - 1] as string;
      if (this.childId(parent.id, name, "file") !== undefined) {
        throw new KoineError(ErrorCode.AlreadyExists, `Cannot make directory "${path}": a file is there`);
      }
      const existing = this.childId(parent.id, name, "directory");
      if (existing !== undefined) {
        const dir = this.#inodes.get(existing) as InodeRecord;
        if (options.exclusive) throw new KoineError(ErrorCode.AlreadyExists, `Cannot make directory "${path}": it exists`);
        if (dir.implicit) this.#inodes.put(dir.id, { ...dir, implicit: false });
        return this.info({ ...dir, implicit: false }, canonicalPath(path));
      }
      const dir = this.#newDirectory(parent.id, name, { owner, group, mode: options.mode });
      this.#link(dir);
      return this.info(dir, canonicalPath(path));
    });
  }

  /**
   * Makes `path` name the bytes just written, replacing what was there.
   * A path ending in "/" makes a directory that is also an object (S3's
   * folder object, "a/"), its bytes in the directory's FOLDER_OBJECT.
   */
  commitFile(
    path: string,
    data: WrittenData,
    blockSize: number,
    attributes: FileAttributes,
    createParents: boolean,
    cache: { persistence?: PersistenceState; cachedOn?: string[] } = {},
    versioned?: VersionedChange,
  ): Promise<{ info: FileInfo; replaced: InodeRecord | undefined; dropped: FileInfo[] }> {
    const parsed = parsePath(path);
    const { segments } = parsed;
    if (segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, `Cannot write "${path}": the root is a directory`);
    return this.#tx(() => {
      const owner = attributes.owner ?? "";
      const group = attributes.group ?? "";
      const parent = this.#parentFor(
        segments,
        path,
        createParents ? { implicit: true, owner, group, ...(attributes.mode === undefined ? {} : { mode: attributes.mode }) } : undefined,
      );
      const name = segments[segments.length - 1] as string;
      const now = this.#now();
      const content = {
        size: data.size,
        etag: data.etag,
        contentId: data.contentId,
        ufsFingerprint: data.ufsFingerprint,
        blockSize,
        mtimeMs: now,
        syncedMs: now,
        persistence: cache.persistence ?? "PERSISTED",
        ...(cache.cachedOn ? { cachedOn: cache.cachedOn } : {}),
        ...(attributes.pinned ? { pinned: true } : {}),
        ...(attributes.ttlMs !== undefined && attributes.ttlMs >= 0
          ? { ttlMs: attributes.ttlMs, ttlAction: attributes.ttlAction ?? "DELETE" }
          : {}),
        contentType: attributes.contentType ?? "application/octet-stream",
        userMeta: attributes.userMeta ?? {},
        headers: attributes.headers ?? {},
        tags: attributes.tags ?? {},
        checksums: attributes.checksums ?? {},
        ...(attributes.checksumType ? { checksumType: attributes.checksumType } : {}),
        ...(attributes.parts ? { parts: attributes.parts } : {}),
        ...(attributes.grants?.length ? { grants: attributes.grants } : {}),
        ...(attributes.retention ? { retention: attributes.retention } : {}),
        ...(attributes.legalHold ? { legalHold: true } : {}),
      };
      if (parsed.directory) {
        const existingId = this.childId(parent.id, name, "directory");
        const existing = existingId === undefined ? undefined : this.#inodes.get(existingId);
        const dir: InodeRecord = existing
          ? { ...existing, ...content, marker: true, implicit: false }
          : {
              ...this.#newDirectory(parent.id, name, {
                owner,
                group,
                mode: attributes.mode === undefined ? undefined : directoryMode(attributes.mode),
              }),
              ...content,
              marker: true,
            };
        if (existing) this.#put(dir, existing);
        else this.#link(dir);
        return { info: this.info(dir, canonicalPath(path)), replaced: undefined, dropped: [] };
      }
      const existingId = this.childId(parent.id, name, "file");
      const replaced = existingId === undefined ? undefined : this.#inodes.get(existingId);
      const at = canonicalPath(path);
      const kept = replaced && versioned?.kept ? this.#noncurrent(replaced, at, versioned.kept) : undefined;
      const file: InodeRecord = {
        ...newInode(
          replaced?.id ?? this.#nextId(),
          parent.id,
          name,
          "file",
          {
            owner: attributes.owner ?? replaced?.owner ?? "",
            group: attributes.group ?? replaced?.group ?? "",
            ...(attributes.mode === undefined ? {} : { mode: attributes.mode }),
          },
          this.#now(),
        ),
        ...content,
        ...(replaced && !versioned ? { createdMs: replaced.createdMs } : {}),
        // A commit sent again (its version is there already) keeps the version it made.
        ...(replaced?.contentId === data.contentId ? versionOf(replaced) : versioned ? this.#newVersion(versioned.versioning) : {}),
      };
      if (replaced) this.#put(file, replaced);
      else this.#link(file);
      const dropped = versioned ? this.#settleVersions(at, versioned.versioning, kept) : [];
      // The bytes are counted now: the write's hold goes in the same step.
      const hold = this.#holds.get(at)?.[0];
      if (hold) this.release(hold);
      return { info: this.info(file, at), replaced, dropped };
    });
  }

  /**
   * Throws what {@link commitFile} would throw for `path` because of the
   * tree's shape (a file where a directory must be, a directory where the
   * file goes, a missing parent), so that bytes are published only where a
   * commit can follow.
   */
  checkCommit(path: string, createParents: boolean): void {
    const { segments } = parsePath(path);
    if (segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, `Cannot write "${path}": the root is a directory`);
    let id = ROOT_ID;
    for (let i = 0; i < segments.length - 1; i++) {
      const name = segments[i] as string;
      const dir = this.childId(id, name, "directory");
      if (dir !== undefined) {
        id = dir;
        continue;
      }
      // A file of the name is no obstacle: the write's directory is made beside it (see #parentFor).
      if (!createParents)
        throw new KoineError(ErrorCode.NotFound, `Cannot find "${joinPath(segments.slice(0, i + 1))}": no such directory`);
      return;
    }
  }

  /** Every inode of the subtree at `inode` (at `path`), children before their parent. */
  *subtree(inode: InodeRecord, path: string): Generator<PlacedInode> {
    if (inode.type === "directory") {
      for (const { value } of this.#children.getRange({ start: [inode.id, ""], end: [inode.id + 1] })) {
        const child = this.#inodes.get(value);
        if (child) yield* this.subtree(child, childPath(path, child.name));
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
    const at = canonicalPath(path);
    return this.#tx(() => {
      const inode = this.lookup(parsed);
      if (!inode) throw new KoineError(ErrorCode.NotFound, `Cannot delete "${path}": no such file or directory`);
      if (options.fileOnly && inode.type === "directory" && !(parsed.directory && inode.marker)) {
        throw new KoineError(ErrorCode.NotFound, `Cannot delete "${path}": no such file`);
      }
      const removal: Removal = { removed: [], pruned: [], keptDirectory: false };
      if (inode.type === "directory" && parsed.directory && inode.marker && this.hasChildren(inode.id)) {
        this.#put({ ...inode, marker: false, implicit: true, etag: "", size: 0, contentId: "" }, inode);
        removal.removed.push({ inode, path: at });
        removal.keptDirectory = true;
      } else {
        if (inode.type === "directory" && !options.recursive && this.hasChildren(inode.id)) {
          throw new KoineError(ErrorCode.NotEmpty, `Cannot delete "${path}": the directory is not empty`);
        }
        this.#checkUnlocked(inode, at, "delete");
        for (const item of [...this.subtree(inode, at)]) {
          this.#unlink(item.inode);
          removal.removed.push(item);
        }
      }
      if (options.pruneImplicitParents) removal.pruned = this.#pruneFrom(inode.parent, parentPath(at));
      return removal;
    });
  }

  /** Refuses (PERMISSION_DENIED) to remove a file under S3 Object Lock, or a directory holding one, from its path. */
  #checkUnlocked(inode: InodeRecord, path: string, what: string): void {
    for (const item of this.subtree(inode, path)) {
      const lock = item.inode.type === "file" ? lockOf(item.inode, this.#now()) : undefined;
      if (lock) throw new KoineError(ErrorCode.PermissionDenied, `Cannot ${what} "${item.path}": ${lock}`);
    }
  }

  /** Removes implicit directories left empty, from `dirId` (at `path`) upwards; returns their paths. */
  #pruneFrom(dirId: number, path: string): string[] {
    const pruned: string[] = [];
    let id = dirId;
    let at = path;
    for (;;) {
      const dir = this.#inodes.get(id);
      if (!dir?.implicit || dir.marker || dir.parent === ROOT_ID || this.hasChildren(id)) return pruned;
      this.#unlink(dir);
      pruned.push(at);
      id = dir.parent;
      at = parentPath(at);
    }
  }

  /** Moves `src` to `dst` (which must not exist) in one write. */
  rename(src: string, dst: string): Promise<FileInfo> {
    const from = parsePath(src);
    const to = parsePath(dst);
    if (to.segments.length === 0 || from.segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, 'Cannot rename "/"');
    if (isWithin(dst, src) && canonicalPath(dst) !== canonicalPath(src)) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot rename "${src}" into itself`);
    }
    return this.#tx(() => {
      const inode = this.lookup(from);
      if (!inode) throw new KoineError(ErrorCode.NotFound, `Cannot rename "${src}": no such file or directory`);
      if (this.lookup(to)) throw new KoineError(ErrorCode.AlreadyExists, `Cannot rename to "${dst}": it exists`);
      this.#checkUnlocked(inode, canonicalPath(src), "rename");
      const parent = this.#parentFor(to.segments, dst);
      // A directory's files move with it: their bytes leave one top-level directory's usage for the other's.
      let below = 0;
      if (inode.type === "directory")
        for (const item of this.subtree(inode, "")) below += item.inode.id === inode.id ? 0 : fileBytes(item.inode);
      const fromTop = this.#topOf(inode);
      const toTop = parent.id === ROOT_ID ? inode.id : this.#topOf(parent);
      if (fromTop !== toTop) this.checkQuota(dst, below + fileBytes(inode));
      this.#addUsage(fromTop, -below);
      this.#unlink(inode);
      const moved = { ...inode, parent: parent.id, name: to.segments[to.segments.length - 1] as string };
      this.#link(moved);
      this.#addUsage(toTop, below);
      return this.info(moved, canonicalPath(dst));
    });
  }

  setAttributes(path: string, attributes: FileAttributes): Promise<FileInfo> {
    return this.#tx(() => {
      const inode = this.get(path);
      const updated: InodeRecord = { ...inode };
      if (attributes.contentType !== undefined) updated.contentType = attributes.contentType;
      if (attributes.userMeta !== undefined) updated.userMeta = attributes.userMeta;
      if (attributes.headers !== undefined) updated.headers = attributes.headers;
      if (attributes.tags !== undefined) updated.tags = attributes.tags;
      if (attributes.grants !== undefined) updated.grants = attributes.grants;
      if (attributes.policy === "") delete updated.policy;
      else if (attributes.policy !== undefined) updated.policy = attributes.policy;
      if (attributes.cors === "") delete updated.cors;
      else if (attributes.cors !== undefined) updated.cors = attributes.cors;
      if (attributes.publicAccessBlock === null) delete updated.publicAccessBlock;
      else if (attributes.publicAccessBlock !== undefined) updated.publicAccessBlock = attributes.publicAccessBlock;
      if (attributes.owner !== undefined) updated.owner = attributes.owner;
      if (attributes.group !== undefined) updated.group = attributes.group;
      if (attributes.mode !== undefined) updated.mode = attributes.mode;
      if (attributes.pinned !== undefined) updated.pinned = attributes.pinned;
      if (attributes.versioning !== undefined || attributes.objectLock !== undefined) {
        if (inode.parent !== ROOT_ID || inode.type !== "directory") {
          throw new KoineError(ErrorCode.InvalidArgument, `Cannot version "${path}": only top-level directories are buckets`);
        }
        if (attributes.versioning !== undefined) updated.versioning = attributes.versioning;
        if (attributes.objectLock !== undefined) updated.objectLock = attributes.objectLock;
        // Object Lock keeps every version: versioning stays on with it.
        if (updated.objectLock && updated.versioning !== "Enabled") {
          throw new KoineError(ErrorCode.FailedPrecondition, `Cannot lock objects in "${path}" without versioning enabled`);
        }
      }
      if (attributes.quotaBytes !== undefined) {
        if (inode.parent !== ROOT_ID || inode.type !== "directory") {
          throw new KoineError(ErrorCode.InvalidArgument, `Cannot set a quota on "${path}": only top-level directories have one`);
        }
        if (attributes.quotaBytes === null) delete updated.quotaBytes;
        else updated.quotaBytes = attributes.quotaBytes;
      }
      if (attributes.ttlMs !== undefined && attributes.ttlMs >= 0) {
        updated.ttlMs = attributes.ttlMs;
        updated.ttlAction = attributes.ttlAction ?? inode.ttlAction ?? "DELETE";
      } else if (attributes.ttlMs === -1) {
        delete updated.ttlMs;
        delete updated.ttlAction;
      } else if (attributes.ttlAction !== undefined && updated.ttlMs !== undefined) {
        updated.ttlAction = attributes.ttlAction;
      }
      this.#put(updated, inode);
      return this.info(updated, canonicalPath(path));
    });
  }

  /** The S3 versioning of the bucket (top-level directory) `path` is in. */
  versioningOf(path: string): Versioning | undefined {
    const [first] = parsePath(path).segments;
    const id = first === undefined ? undefined : this.childId(ROOT_ID, first, "directory");
    return id === undefined ? undefined : this.#inodes.get(id)?.versioning;
  }

  /** The noncurrent versions and delete markers of `path` (canonical), newest first. */
  *noncurrent(path: string): Generator<FileInfo> {
    for (const { value } of this.#versions.getRange({ start: [path, ""], end: [path, "~"] })) yield value;
  }

  /** The `count` newest of {@link noncurrent}. */
  newestNoncurrent(path: string, count: number): FileInfo[] {
    return [...this.#versions.getRange({ start: [path, ""], end: [path, "~"], limit: count }).map((e) => e.value)];
  }

  /**
   * Paths with noncurrent versions or delete markers from `start` on, in
   * S3 byte order (each once). Holds an LMDB read cursor until ended.
   */
  *pathsWithVersions(start: string): Generator<string> {
    let last: string | undefined;
    for (const key of this.#versions.getKeys({ start: [start, ""] })) {
      if (key[0] !== last) yield key[0];
      last = key[0];
    }
  }

  /** The version of `path` with S3 id `versionId`, and whether it is the current one. */
  findVersion(path: string, versionId: string): { info: FileInfo; current: boolean } | undefined {
    const at = canonicalPath(path);
    const inode = this.lookup(parsePath(path));
    if (inode?.type === "file" && versionIdOf(inode) === versionId) return { info: this.info(inode, at), current: true };
    if (versionId !== "null") {
      const record = this.#versions.get([at, versionId]);
      return record && !record.nullVersion ? { info: record, current: false } : undefined;
    }
    const record = this.#noncurrentNull(at);
    return record ? { info: record, current: false } : undefined;
  }

  /** The noncurrent null version of `path` (canonical), if there is one (there is at most one). */
  #noncurrentNull(path: string): FileInfo | undefined {
    for (const record of this.noncurrent(path)) if (versionIdOf(record) === "null") return record;
    return undefined;
  }

  /** A new version's place (newest first: counting down) and whether it is the null one. Runs inside a write transaction. */
  #newVersion(versioning: Versioning): Pick<FileInfo, "version" | "nullVersion"> {
    const count = (this.#counters.get("versions") ?? 0) + 1;
    this.#counters.put("versions", count);
    const version = (Number.MAX_SAFE_INTEGER - count).toString(16).padStart(14, "0");
    return versioning === "Suspended" ? { version, nullVersion: true } : { version };
  }

  /** The record of current version `inode` of `path` kept as noncurrent (a version written before versioning is the null one). */
  #noncurrent(inode: InodeRecord, path: string, kept: NonNullable<VersionedChange["kept"]>): FileInfo {
    const version = inode.version === undefined ? { ...this.#newVersion("Suspended") } : {};
    return { ...this.info(inode, path), ...version, ...(kept.at ?? {}) };
  }

  /** Stores a noncurrent version; one only in the cache stays pinned there. */
  #putRecord(info: FileInfo): void {
    this.#versions.put([info.path, info.version as string], info);
    if (info.persistence !== "PERSISTED" && info.contentId !== "") {
      this.#pins.put(info.contentId, 0);
      this.#pinLog.push({ contentId: info.contentId, pinned: true });
    }
  }

  #removeRecord(path: string, version: string): FileInfo | undefined {
    const record = this.#versions.get([path, version]);
    if (!record) return undefined;
    this.#versions.remove([path, version]);
    if (this.#pins.get(record.contentId) === 0) {
      this.#pins.remove(record.contentId);
      this.#pinLog.push({ contentId: record.contentId, pinned: false });
    }
    return record;
  }

  /** Stores the version a change kept; while suspended, drops the null version it replaces. Returns what was dropped. */
  #settleVersions(path: string, versioning: Versioning, kept: FileInfo | undefined): FileInfo[] {
    const dropped: FileInfo[] = [];
    const replaced = versioning === "Suspended" ? this.#noncurrentNull(path) : undefined;
    if (replaced) dropped.push(this.#removeRecord(path, replaced.version as string) as FileInfo);
    if (kept) this.#putRecord(kept);
    return dropped;
  }

  /**
   * S3 DeleteObject without a version id in a bucket with versioning: a
   * delete marker becomes the current version of `path`; the current file
   * is kept as noncurrent (as `change` says) or dropped.
   */
  putDeleteMarker(path: string, change: VersionedChange, owner: string): Promise<VersionsChanged & { marker: FileInfo }> {
    const parsed = parsePath(path);
    const at = canonicalPath(path);
    return this.#tx(() => {
      const inode = this.lookup(parsed);
      const current = inode?.type === "file" ? inode : undefined;
      const kept = current && change.kept ? this.#noncurrent(current, at, change.kept) : undefined;
      const name = parsed.segments[parsed.segments.length - 1] as string;
      const marker: FileInfo = {
        ...this.info(newInode(0, -1, name, "file", { owner }, this.#now()), at),
        ...this.#newVersion(change.versioning),
        deleteMarker: true,
      };
      const dropped: FileInfo[] = [];
      let pruned: string[] = [];
      if (current) {
        this.#unlink(current);
        if (!kept) dropped.push(this.info(current, at));
        pruned = this.#pruneFrom(current.parent, parentPath(at));
      }
      dropped.push(...this.#settleVersions(at, change.versioning, kept));
      this.#putRecord(marker);
      return { marker, dropped, pruned };
    });
  }

  /**
   * Removes a version of `path` for good: the current one, or the
   * noncurrent one at `version`. With `restore`, the noncurrent version
   * there (whose bytes metadata moved back to the path) becomes current.
   */
  removeVersion(
    path: string,
    which: { current: true } | { version: string },
    restore?: { version: string; ufsFingerprint: string },
    bypassGovernance = false,
  ): Promise<VersionsChanged & { removed: FileInfo }> {
    const parsed = parsePath(path);
    const at = canonicalPath(path);
    return this.#tx(() => {
      const refuse = (info: FileInfo) => {
        const lock = lockOf(info, this.#now(), bypassGovernance);
        if (lock) throw new KoineError(ErrorCode.PermissionDenied, `Cannot delete version ${versionIdOf(info)} of "${path}": ${lock}`);
      };
      let removed: FileInfo | undefined;
      let pruned: string[] = [];
      if ("current" in which) {
        const inode = this.lookup(parsed);
        if (inode?.type !== "file") throw new KoineError(ErrorCode.NotFound, `Cannot delete "${path}": no such file`);
        removed = this.info(inode, at);
        refuse(removed);
        this.#unlink(inode);
        if (!restore) pruned = this.#pruneFrom(inode.parent, parentPath(at));
      } else {
        const record = this.#versions.get([at, which.version]);
        if (record) refuse(record);
        removed = this.#removeRecord(at, which.version);
        if (!removed) throw new KoineError(ErrorCode.NotFound, `Cannot delete version ${which.version} of "${path}": there is none`);
      }
      if (restore) {
        const record = this.#removeRecord(at, restore.version);
        if (!record || record.deleteMarker)
          throw new KoineError(ErrorCode.Internal, `Cannot restore version ${restore.version} of "${path}"`);
        const parent = this.#parentFor(parsed.segments, at, { implicit: true, owner: record.owner, group: record.group });
        const { path: _path, ufs: _ufs, ...rest } = record;
        this.#link({ ...rest, id: this.#nextId(), parent: parent.id, ufsFingerprint: restore.ufsFingerprint });
      }
      return { removed, dropped: [removed], pruned };
    });
  }

  /**
   * Sets the tags, grants, retention or legal hold of version `versionId`
   * of `path` (S3 tagging, ACLs and Object Lock by version id). A retention
   * only grows, unless it is GOVERNANCE and `bypassGovernance`.
   */
  setVersionAttributes(
    path: string,
    versionId: string,
    attributes: Pick<FileAttributes, "tags" | "grants" | "retention" | "legalHold">,
    bypassGovernance = false,
  ): Promise<FileInfo> {
    return this.#tx(() => {
      const found = this.findVersion(path, versionId);
      if (!found || found.info.deleteMarker) {
        throw new KoineError(ErrorCode.NotFound, `Cannot find version ${versionId} of "${path}"`);
      }
      const { retention, legalHold, ...rest } = attributes;
      const changes: Partial<InodeRecord> = { ...rest };
      if (legalHold !== undefined) changes.legalHold = legalHold;
      if (retention !== undefined) {
        checkRetentionChange(found.info.retention, retention, this.#now(), bypassGovernance, `${path} (version ${versionId})`);
        if (retention) changes.retention = retention;
      }
      const drop = (info: FileInfo | InodeRecord) => {
        const updated = { ...info, ...changes };
        if (retention === null) delete updated.retention;
        return updated;
      };
      if (found.current) {
        const inode = this.get(path);
        const updated = drop(inode) as InodeRecord;
        this.#put(updated, inode);
        return this.info(updated, canonicalPath(path));
      }
      const updated = drop(found.info) as FileInfo;
      this.#versions.put([updated.path, updated.version as string], updated);
      return updated;
    });
  }

  /** The path of an inode, from its parents. */
  pathOf(inode: InodeRecord): string {
    const names: string[] = [];
    let at: InodeRecord | undefined = inode;
    while (at && at.id !== ROOT_ID) {
      names.unshift(at.name);
      at = this.#inodes.get(at.parent);
    }
    return joinPath(names);
  }

  /** Marks `contentId`, the version at `path`, persisted with these under-store bytes; false when `path` holds another version now. */
  markPersisted(path: string, contentId: string, ufsFingerprint: string): Promise<FileInfo | undefined> {
    return this.#tx(() => {
      const inode = this.lookup(parsePath(path));
      if (!inode || inode.contentId !== contentId) return undefined;
      const { cachedOn: _cachedOn, ...rest } = inode;
      const updated: InodeRecord = { ...rest, persistence: "PERSISTED", ufsFingerprint, syncedMs: this.#now() };
      this.#put(updated, inode);
      return this.info(updated, canonicalPath(path));
    });
  }

  /** The mount whose mount point is `path`, if any. */
  mountAt(path: string): Mount | undefined {
    return this.#mounts.get(canonicalPath(path));
  }

  /**
   * Grafts a mount into the tree at `mount.path`, as Alluxio does: not at
   * "/", not where something exists, below an existing directory, and
   * neither inside nor around another mount, in the namespace or in the
   * under-stores.
   */
  addMount(mount: Mount): Promise<FileInfo> {
    const parsed = parsePath(mount.path);
    if (parsed.segments.length === 0) throw new KoineError(ErrorCode.InvalidArgument, 'Cannot mount at "/": it is the root mount');
    const at = canonicalPath(mount.path);
    return this.#tx(() => {
      for (const other of this.mountList()) {
        if (other.path !== "/" && other.path !== at && (isWithin(at, other.path) || isWithin(other.path, at))) {
          throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount at "${at}": mount points cannot nest ("${other.path}" is mounted)`);
        }
        if (nests(other.uri, mount.uri)) {
          throw new KoineError(
            ErrorCode.InvalidArgument,
            `Cannot mount ${mount.uri}: it nests with ${other.uri}, mounted at "${other.path}"`,
          );
        }
      }
      if (this.lookup(parsed)) throw new KoineError(ErrorCode.AlreadyExists, `Cannot mount at "${at}": it exists`);
      const parent = this.#parentFor(parsed.segments, at);
      const dir = newInode(this.#nextId(), parent.id, parsed.segments[parsed.segments.length - 1] as string, "directory", {}, this.#now());
      this.#link(dir);
      this.#mounts.put(at, mount);
      return this.info(dir, at);
    });
  }

  /** Removes the mount at `path` and its subtree from the namespace (the under-store is left as it is). */
  removeMount(path: string): Promise<Mount> {
    const at = canonicalPath(path);
    return this.#tx(() => {
      const mount = this.#mounts.get(at);
      if (!mount || at === "/") throw new KoineError(ErrorCode.InvalidArgument, `Cannot unmount "${path}": it is not a mount point`);
      const inode = this.lookup(parsePath(at));
      if (inode) for (const item of [...this.subtree(inode, at)]) this.#unlink(item.inode);
      this.#mounts.remove(at);
      return mount;
    });
  }

  /**
   * Takes an under-store entry into the tree below `parentId`, unless the
   * namespace changed there since `sinceMs`; returns the inode now there.
   */
  adopt(parentId: number, name: string, status: UfsStatus, sinceMs: number, blockSize: number): Promise<InodeRecord | undefined> {
    return this.#tx(() => {
      const existing = this.childId(parentId, name, status.type);
      if (existing !== undefined) return this.#inodes.get(existing);
      const parent = this.#inodes.get(parentId);
      if (
        !parent ||
        parent.mtimeMs > sinceMs ||
        this.childId(parentId, name, status.type === "file" ? "directory" : "file") !== undefined
      ) {
        return undefined;
      }
      const inode = adopted(this.#nextId(), parentId, name, status, blockSize, this.#now());
      this.#link(inode);
      return inode;
    });
  }

  /**
   * Brings a file up to its under-store status taken at `sinceMs` (gone:
   * removed; other bytes: a new version), unless it was written since or
   * lives only in the cache. Returns whether anything changed.
   */
  refreshFile(id: number, status: UfsStatus | undefined, sinceMs: number): Promise<boolean> {
    return this.#tx(() => {
      const inode = this.#inodes.get(id);
      if (inode?.type !== "file" || inode.persistence !== "PERSISTED" || (inode.syncedMs ?? inode.mtimeMs) >= sinceMs) return false;
      if (status?.type !== "file") {
        this.#unlink(inode);
        return true;
      }
      if (status.fingerprint === inode.ufsFingerprint) {
        this.#inodes.put(id, { ...inode, syncedMs: this.#now() });
        return false;
      }
      this.#put({ ...inode, ...contentOf(inode.id, status, this.#now()), syncedMs: this.#now() }, inode);
      return true;
    });
  }

  /**
   * What comparing directory `dirId` (at `path`) with the under-store's
   * listing `entries`, taken from `sinceMs`, would change: entries to take
   * in, files whose bytes changed there, children gone from there (with
   * what lies below them). Undefined when the directory changed since the
   * listing began (then it is not compared).
   */
  #reconcilePlan(dirId: number, path: string, entries: readonly UfsStatusEntry[], sinceMs: number): ReconcileStep[] | undefined {
    const dir = this.#inodes.get(dirId);
    if (dir?.type !== "directory" || dir.mtimeMs > sinceMs) return undefined;
    const steps: ReconcileStep[] = [];
    const listed = new Set<string>();
    for (const found of entries) {
      const name = namespaceName(found.name);
      if (name === undefined || !isAdoptable(name, found.type)) continue;
      const entry = { ...found, name };
      if (this.#mounts.get(childPath(path, entry.name))) continue;
      listed.add(childName(entry.name, entry.type));
      const sameId = this.childId(dirId, entry.name, entry.type);
      if (sameId === undefined) {
        steps.push({ path: childPath(path, entry.name), adopt: entry });
        continue;
      }
      const inode = this.#inodes.get(sameId) as InodeRecord;
      if (
        entry.type === "file" &&
        inode.persistence === "PERSISTED" &&
        (inode.syncedMs ?? inode.mtimeMs) < sinceMs &&
        inode.ufsFingerprint !== entry.fingerprint
      ) {
        steps.push({ path: childPath(path, entry.name), changed: { inode, entry } });
      }
    }
    for (const { key, value } of [...this.#children.getRange({ start: [dirId, ""], end: [dirId + 1] })]) {
      if (listed.has(key[1])) continue;
      const child = this.#inodes.get(value);
      if (!child || this.#mounts.get(childPath(path, child.name))) continue;
      const items = [...this.subtree(child, childPath(path, child.name))];
      const keep = items.some(
        ({ inode, path: p }) =>
          inode.persistence !== "PERSISTED" || (inode.syncedMs ?? inode.mtimeMs) >= sinceMs || this.#mounts.get(p) !== undefined,
      );
      if (!keep) steps.push({ path: childPath(path, child.name), gone: items.map((item) => item.inode) });
    }
    return steps;
  }

  /** Whether {@link reconcile} would change anything but the directory's time of comparison (read only: nothing journaled). */
  reconcileChanges(dirId: number, path: string, entries: readonly UfsStatusEntry[], sinceMs: number): boolean {
    const plan = this.#reconcilePlan(dirId, path, entries, sinceMs);
    return plan === undefined || plan.length > 0;
  }

  /**
   * Makes the children of directory `dirId` (at `path`) match an
   * under-store listing taken at `sinceMs`: new entries come in, changed
   * files get their new version, entries gone from the under-store go.
   * What the namespace changed since, what lives only in the cache, and
   * mount points are left alone. Returns the paths that changed.
   */
  reconcile(dirId: number, path: string, entries: readonly UfsStatusEntry[], sinceMs: number, blockSize: number): Promise<string[]> {
    return this.#tx(() => {
      const plan = this.#reconcilePlan(dirId, path, entries, sinceMs);
      if (plan === undefined) return [];
      for (const step of plan) {
        if ("adopt" in step) this.#link(adopted(this.#nextId(), dirId, step.adopt.name, step.adopt, blockSize, this.#now()));
        else if ("changed" in step) {
          const { inode, entry } = step.changed;
          this.#put({ ...inode, ...contentOf(inode.id, entry, this.#now()), syncedMs: this.#now() }, inode);
        } else for (const inode of step.gone) this.#unlink(inode);
      }
      const now = this.#inodes.get(dirId) as InodeRecord;
      this.#inodes.put(dirId, { ...now, syncedMs: this.#now() });
      return plan.map((step) => step.path);
    });
  }
}

/** One change a reconcile makes, at `path`: an entry taken in, a file whose bytes changed, or what went from the under-store. */
type ReconcileStep = { path: string } & (
  | { adopt: UfsStatusEntry }
  | { changed: { inode: InodeRecord; entry: UfsStatusEntry } }
  | { gone: InodeRecord[] }
);

/** Bytes a write holds against its top-level directory's quota until its commit. */
export interface QuotaHold {
  readonly path: string;
  readonly top: number;
  readonly bytes: number;
  released: boolean;
}

/** The bytes a file counts for in its top-level directory's usage. */
function fileBytes(inode: InodeRecord | undefined): number {
  return inode?.type === "file" ? inode.size : 0;
}

/** "/a/b/" and "/a/b" name the same place; info paths have no trailing "/". */
export function newContentId(): string {
  return randomBytes(12).toString("hex");
}

/** An under-store listing entry. */
export type UfsStatusEntry = UfsStatus & { name: string };

/** Whether a name an under-store lists can name a namespace entry of `type` (only a directory is named ""). */
function isAdoptable(name: string, type: UfsStatus["type"]): boolean {
  if ((name === "" && type === "file") || name.includes("\0")) return false;
  return Buffer.byteLength(name) <= 255;
}

/** Two under-store URIs where one is inside the other. */
function nests(a: string, b: string): boolean {
  const x = a.endsWith("/") ? a : `${a}/`;
  const y = b.endsWith("/") ? b : `${b}/`;
  return x.startsWith(y) || y.startsWith(x);
}

/**
 * The content fields of a file found in an under-store: a new version,
 * its content id made from the inode and the version's fingerprint (the
 * same on every replica, new for every version).
 */
function contentOf(
  id: number,
  status: UfsStatus,
  now: number,
): Pick<InodeRecord, "size" | "etag" | "contentId" | "ufsFingerprint" | "mtimeMs"> {
  return {
    size: status.size,
    // Without the store's own tag, one that no client takes for the MD5 of the bytes ("-1": as of a multipart upload).
    etag: status.etag ?? `${createHash("md5").update(status.fingerprint).digest("hex")}-1`,
    contentId: createHash("sha256").update(`${id}\0${status.fingerprint}`).digest("hex").slice(0, 24),
    ufsFingerprint: status.fingerprint,
    mtimeMs: status.mtimeMs || now,
  };
}

/** A new inode for an entry found in an under-store. Directories found so are implicit (S3 shows them only through their keys). */
function adopted(id: number, parent: number, name: string, status: UfsStatus, blockSize: number, now: number): InodeRecord {
  if (status.type === "directory") return newInode(id, parent, name, "directory", { implicit: true }, now);
  const content = contentOf(id, status, now);
  return {
    ...newInode(id, parent, name, "file", {}, now),
    ...content,
    createdMs: content.mtimeMs,
    blockSize,
    contentType: "application/octet-stream",
    syncedMs: now,
  };
}

/** The mode of a directory made for a file of `mode`: searchable by whoever may read (0o600 → 0o700, 0o644 → 0o755). */
function directoryMode(mode: number): number {
  return mode | ((mode & 0o444) >> 2);
}

function newInode(
  id: number,
  parent: number,
  name: string,
  type: FileInfo["type"],
  options: { owner?: string; group?: string; mode?: number; implicit?: boolean },
  now: number,
): InodeRecord {
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
    group: options.group ?? "",
    mode: options.mode ?? (type === "directory" ? 0o755 : 0o644),
    contentId: "",
    blockSize: 1,
    persistence: "PERSISTED",
    ufsFingerprint: "",
    implicit: options.implicit ?? false,
    marker: false,
  } as InodeRecord;
}
