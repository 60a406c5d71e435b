import {
  canonicalPath,
  ErrorCode,
  type FileInfo,
  type KeyEntry,
  type KeyVersion,
  KoineError,
  type ListKeysReply,
  type ListVersionsReply,
  versionIdOf,
} from "@koine/protocol";
import { type InodeRecord, type Namespace, ROOT_ID } from "./namespace.ts";

interface KeyItem {
  key: string;
  inode: InodeRecord;
}

/** Told of each directory a listing descends into, with its key ("a/b/"). */
export type Entered = (dir: InodeRecord, key: string) => void;

/**
 * Yields the object keys below directory `dirId` (keys relative to the
 * bucket, prefixed by `base`) in S3 byte order, from the first key >= `seek`.
 * Depth-first with directories sorted as "name/" gives exactly that order,
 * and a seek descends the tree instead of scanning.
 */
function* keysFrom(ns: Namespace, dirId: number, base: string, seek: string, entered: Entered): Generator<KeyItem> {
  let start = seek;
  const slash = seek.indexOf("/");
  if (slash >= 0) {
    const head = seek.slice(0, slash + 1);
    const rest = seek.slice(slash + 1);
    const dir = ns.childByIndexName(dirId, head);
    if (dir) {
      if (dir.marker && rest === "") yield { key: base + head, inode: dir };
      entered(dir, base + head);
      yield* keysFrom(ns, dir.id, base + head, rest, entered);
    }
    start = head;
  }
  for (const { name, inode } of ns.children(dirId, start)) {
    if (slash >= 0 && name === start) continue;
    if (inode.type === "directory") {
      if (inode.marker) yield { key: base + name, inode };
      entered(inode, base + name);
      yield* keysFrom(ns, inode.id, base + name, "", entered);
    } else {
      yield { key: base + name, inode };
    }
  }
}

/** A walk past the last key. */
function* noKeys(): Generator<KeyItem> {}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The smallest string greater than every string that starts with `prefix`,
 * in UTF-8 byte order (by code points: a last U+10FFFF has no next one, and
 * surrogates are no characters); undefined when no string is greater.
 */
export function successor(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    if (last < 0x10ffff) return points.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}

export interface ListKeysOptions {
  bucket: string;
  prefix: string;
  delimiter: string;
  startAfter: string;
  maxKeys: number;
}

/**
 * S3 ListObjects over the tree: keys and common prefixes after
 * `startAfter`, at most `maxKeys` of them together. Each common prefix is
 * skipped in one seek, so a page costs what it returns, not the bucket size.
 * `entered` is told of every directory the page descends into.
 */
export function listKeys(ns: Namespace, options: ListKeysOptions, entered: Entered = () => {}): ListKeysReply {
  const { prefix, delimiter, startAfter, maxKeys } = options;
  const bucketId = ns.childId(ROOT_ID, options.bucket, "directory");
  if (bucketId === undefined) throw new KoineError(ErrorCode.NotFound, `Cannot list "/${options.bucket}": no such bucket`);
  const keys: KeyEntry[] = [];
  const commonPrefixes: string[] = [];
  let last = "";
  const seek = compareBytes(startAfter, prefix) > 0 ? startAfter : prefix;
  // A walk holds LMDB read cursors (and so a reader slot) until it is ended:
  // every walk is closed when it is replaced and when the page is done.
  let walk = keysFrom(ns, bucketId, "", seek, entered);
  try {
    for (;;) {
      const next = walk.next();
      if (next.done) return { keys, commonPrefixes, truncated: false, last };
      const { key, inode } = next.value;
      if (!key.startsWith(prefix)) return { keys, commonPrefixes, truncated: false, last };
      if (compareBytes(key, startAfter) <= 0) continue;
      const cut = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const cp = key.slice(0, cut + delimiter.length);
        const after = successor(cp);
        walk.return(undefined);
        walk = after === undefined ? noKeys() : keysFrom(ns, bucketId, "", after, entered);
        if (startAfter.startsWith(cp)) continue;
        if (keys.length + commonPrefixes.length >= maxKeys) return { keys, commonPrefixes, truncated: true, last };
        commonPrefixes.push(cp);
        last = cp;
        continue;
      }
      if (keys.length + commonPrefixes.length >= maxKeys) return { keys, commonPrefixes, truncated: true, last };
      keys.push({ key, size: inode.size, etag: inode.etag, createdMs: inode.createdMs, mtimeMs: inode.mtimeMs, owner: inode.owner });
      last = key;
    }
  } finally {
    walk.return(undefined);
  }
}

export interface ListVersionsOptions {
  bucket: string;
  prefix: string;
  delimiter: string;
  keyMarker: string;
  versionIdMarker: string;
  maxKeys: number;
}

/**
 * The keys of a bucket from `seek` on, in S3 byte order, each with its
 * current version if it has one: the tree's keys merged with the paths that
 * have noncurrent versions or delete markers. Both walks are ended when
 * this one is.
 */
function* keysWithVersionsFrom(
  ns: Namespace,
  bucketId: number,
  base: string,
  seek: string,
): Generator<{ key: string; current?: InodeRecord }> {
  const tree = keysFrom(ns, bucketId, "", seek, () => {});
  const kept = ns.pathsWithVersions(base + seek);
  try {
    let a = tree.next();
    let b = kept.next();
    for (;;) {
      const keptKey = !b.done && b.value.startsWith(base) ? b.value.slice(base.length) : undefined;
      if (a.done && keptKey === undefined) return;
      const order = a.done ? 1 : keptKey === undefined ? -1 : compareBytes(a.value.key, keptKey);
      if (order <= 0 && !a.done) {
        yield { key: a.value.key, current: a.value.inode };
        a = tree.next();
        if (order === 0) b = kept.next();
      } else {
        yield { key: keptKey as string };
        b = kept.next();
      }
    }
  } finally {
    tree.return(undefined);
    kept.return(undefined);
  }
}

/**
 * S3 ListObjectVersions: each key's versions newest first (the current one,
 * then the noncurrent ones and delete markers), and common prefixes, after
 * the key and version id markers, at most `maxKeys` of them together.
 */
export function listVersions(ns: Namespace, options: ListVersionsOptions): ListVersionsReply {
  const { prefix, delimiter, keyMarker, versionIdMarker, maxKeys } = options;
  const bucketId = ns.childId(ROOT_ID, options.bucket, "directory");
  if (bucketId === undefined) throw new KoineError(ErrorCode.NotFound, `Cannot list "/${options.bucket}": no such bucket`);
  const base = `/${options.bucket}/`;
  const versions: KeyVersion[] = [];
  const commonPrefixes: string[] = [];
  const page = (truncated: boolean, nextKeyMarker = "", nextVersionIdMarker = ""): ListVersionsReply => ({
    versions,
    commonPrefixes,
    truncated,
    nextKeyMarker,
    nextVersionIdMarker,
  });
  const full = () => versions.length + commonPrefixes.length >= maxKeys;
  /** The key and version id (none after a common prefix) the next page starts after. */
  let after: [string, string] = ["", ""];
  const last = () => page(true, ...after);
  let seek = compareBytes(keyMarker, prefix) > 0 ? keyMarker : prefix;
  for (;;) {
    /** Where the next walk starts, after a common prefix (undefined: nothing can follow it). */
    let reseek: { from: string | undefined } | undefined;
    for (const { key, current } of keysWithVersionsFrom(ns, bucketId, base, seek)) {
      if (!key.startsWith(prefix)) return page(false);
      if (compareBytes(key, keyMarker) < 0 || (key === keyMarker && versionIdMarker === "")) continue;
      const cut = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const cp = key.slice(0, cut + delimiter.length);
        reseek = { from: successor(cp) };
        if (keyMarker.startsWith(cp)) break;
        if (full()) return last();
        commonPrefixes.push(cp);
        after = [cp, ""];
        break;
      }
      const path = base + key;
      const all: { info: FileInfo; latest: boolean }[] = [];
      if (current) all.push({ info: ns.info(current, path), latest: true });
      let skipping = key === keyMarker;
      for (const info of ns.noncurrent(canonicalPath(path))) {
        if (info.path !== path) continue;
        all.push({ info, latest: all.length === 0 && info.deleteMarker === true });
      }
      for (const { info, latest } of all) {
        if (skipping) {
          skipping = versionIdOf(info) !== versionIdMarker;
          continue;
        }
        if (full()) return last();
        versions.push({ key, info, latest });
        after = [key, versionIdOf(info)];
      }
    }
    if (reseek?.from === undefined) return page(false);
    seek = reseek.from;
  }
}
