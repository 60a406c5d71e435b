import { ErrorCode, type KeyEntry, KoineError, type ListKeysReply } from "@koine/protocol";
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

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The smallest string greater than every string that starts with `prefix`. */
function successor(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
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
  let seek = compareBytes(startAfter, prefix) > 0 ? startAfter : prefix;
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
        seek = successor(cp);
        walk.return(undefined);
        walk = keysFrom(ns, bucketId, "", seek, entered);
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
