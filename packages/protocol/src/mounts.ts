/** Size of the blocks files are split into for placement on cache nodes. */
export const DEFAULT_BLOCK_SIZE = 64 * 1024 * 1024;

import { ErrorCode, KoineError } from "./errors.ts";
import type { Mount, UfsLocation } from "./schemas.ts";

/** Whether namespace path `path` is `base` or below it. */
export function isWithin(path: string, base: string): boolean {
  return base === "/" || path === base || path.startsWith(`${base}/`);
}

/** The mount holding `path` (longest mount point wins) and the path relative to its root. */
export function locate(mounts: readonly Mount[], path: string): UfsLocation {
  let best: Mount | undefined;
  for (const m of mounts) {
    if (isWithin(path, m.path) && (!best || m.path.length > best.path.length)) best = m;
  }
  if (!best) throw new KoineError(ErrorCode.Internal, `No mount holds "${path}"`);
  const rel = best.path === "/" ? path : path.slice(best.path.length) || "/";
  const trimmed = rel.length > 1 && rel.endsWith("/") ? rel.slice(0, -1) : rel;
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
