/**
 * Under-file-systems: the stores of record below koine's cache. One
 * interface; a local-directory implementation that no path can leave.
 * @module
 */

export type { UfsErrorCode } from "./errors.ts";
export { UfsError } from "./errors.ts";
export { LocalUfs, TEMP_PREFIX } from "./local.ts";
export { safeSegments } from "./path.ts";
export type { StagedWrite, UfsEntry, UfsStatus, UnderFileSystem } from "./ufs.ts";

import { UfsError } from "./errors.ts";
import { LocalUfs } from "./local.ts";
import type { UnderFileSystem } from "./ufs.ts";

/** Opens the under-store a mount URI names (`file:///abs/dir`). */
export function openUfs(uri: string): UnderFileSystem {
  const url = new URL(uri);
  if (url.protocol === "file:") return new LocalUfs(decodeURIComponent(url.pathname));
  throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": scheme ${url.protocol} is not implemented yet`);
}
