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
  return { mountId: best.id, path: rel.length > 1 && rel.endsWith("/") ? rel.slice(0, -1) : rel };
}
