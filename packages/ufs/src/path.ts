import { UfsError } from "./errors.ts";

/**
 * The names of a store-relative path ("/a/b", "a/b", "/a/b/": one leading
 * and one trailing "/" are not names, as in namespace paths). A name may be
 * "", "." or "..": every store keeps them as names (LocalUfs stores them
 * escaped), so none is ever a step out of the store. NUL is refused.
 */
export function pathSegments(path: string): string[] {
  let body = path.startsWith("/") ? path.slice(1) : path;
  if (body === "") return [];
  if (body.endsWith("/")) body = body.slice(0, -1);
  const segments = body.split("/");
  if (segments.some((s) => s.includes("\0"))) throw new UfsError("INVALID_ARGUMENT", `Cannot use path "${path}": it contains NUL`);
  return segments;
}
