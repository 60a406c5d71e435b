/** Size of the blocks files are split into for placement on cache nodes. */
export const DEFAULT_BLOCK_SIZE = 64 * 1024 * 1024;

import { ErrorCode, KoineError } from "./errors.ts";
import { canonicalPath, childPath, isWithin, parsePath } from "./paths.ts";
import type { FileInfo, Mount, UfsLocation } from "./schemas.ts";

/** The mount holding `path` (longest mount point wins) and the path relative to its root. */
export function locate(mounts: readonly Mount[], path: string): UfsLocation {
  let best: Mount | undefined;
  for (const m of mounts) {
    if (isWithin(path, m.path) && (!best || m.path.length > best.path.length)) best = m;
  }
  if (!best) throw new KoineError(ErrorCode.Internal, `No mount holds "${path}"`);
  const rel = best.path === "/" ? path : path.slice(canonicalPath(best.path).replace(/\/$/, "").length) || "/";
  const trimmed = canonicalPath(rel);
  return { mountId: best.id, path: trimmed.includes(`/${INTERNAL_PREFIX}`) ? trimmed.split("/").map(ufsName).join("/") : trimmed };
}

/**
 * Names starting with this are koine's own in an under-store (staged
 * writes, multipart parts); a user's name that starts with it is stored
 * escaped, so the two never meet.
 */
const INTERNAL_PREFIX = ".koine-";
const ESCAPE = ".koine-esc-";

/** The under-store name of namespace name `name`: itself, or escaped when it looks like one of koine's own. */
export function ufsName(name: string): string {
  return name.startsWith(INTERNAL_PREFIX) ? ESCAPE + name : name;
}

/** The namespace name of under-store name `name`, or undefined for koine's own files. */
export function namespaceName(name: string): string | undefined {
  if (!name.startsWith(INTERNAL_PREFIX)) return name;
  const escaped = name.slice(ESCAPE.length);
  return name.startsWith(ESCAPE) && escaped.startsWith(INTERNAL_PREFIX) ? escaped : undefined;
}

/**
 * The file in a directory that holds the bytes of its S3 folder object (the
 * key "a/"): `a/.koine-folder`. An S3 under-store keeps them at the key
 * "a/" itself (see S3Ufs).
 */
export const FOLDER_OBJECT = ".koine-folder";

/** Where the bytes of `info` are in its under-store: a file's own location, a directory's folder object. */
export function bytesLocation(info: Pick<FileInfo, "type" | "ufs">): UfsLocation {
  return info.type === "directory" ? { ...info.ufs, path: childPath(info.ufs.path, FOLDER_OBJECT) } : info.ufs;
}

/** Where the bytes of the object at `path` go: for "dir/" (or a directory named "", "/a//"), the directory's folder object. */
export function objectLocation(mounts: readonly Mount[], path: string): UfsLocation {
  return bytesLocation({ type: parsePath(path).directory ? "directory" : "file", ufs: locate(mounts, path) });
}
