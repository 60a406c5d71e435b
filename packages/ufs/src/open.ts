import { UfsError } from "./errors.ts";
import { LocalUfs } from "./local.ts";
import type { UnderFileSystem } from "./ufs.ts";

/** Opens the under-store a mount URI names (`file:///abs/dir`). */
export function openUfs(uri: string): UnderFileSystem {
  const url = new URL(uri);
  if (url.protocol === "file:") return new LocalUfs(decodeURIComponent(url.pathname));
  throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": scheme ${url.protocol} is not implemented yet`);
}
