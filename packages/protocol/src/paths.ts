import { ErrorCode, KoineError } from "./errors.ts";

/**
 * A parsed namespace path. Paths are "/" and names joined by "/"; a name is
 * any bytes but "/" and NUL, "", "." and ".." included (S3 keys "a//b" and
 * "a/../b" are names, never steps). One trailing "/" says "the directory"
 * (`directory`): "/b/a/" is the directory a (and its S3 folder object), and
 * a path whose last name is "" always ends so ("/b/a//").
 */
export interface ParsedPath {
  segments: string[];
  directory: boolean;
}

const MAX_SEGMENT_BYTES = 255;
const STEPS = new Set(["", ".", ".."]);

/** Parses a namespace path, "/a/b/c" or "/a/b/", into segments, refusing names no store can hold (INVALID_ARGUMENT). */
export function parsePath(path: string): ParsedPath {
  if (!path.startsWith("/")) throw invalid(path, "it is not absolute");
  if (path === "/") return { segments: [], directory: false };
  const directory = path.endsWith("/");
  const segments = path.slice(1, directory ? -1 : undefined).split("/");
  if (STEPS.has(segments[0] as string)) throw invalid(path, 'a bucket (top-level directory) is never named "", "." or ".."');
  for (const s of segments) {
    if (s.includes("\0")) throw invalid(path, "it contains NUL");
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) throw invalid(path, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return { segments, directory };
}

/** The namespace path of `segments`; with `directory`, or when the last name is "", it ends in "/". */
export function joinPath(segments: readonly string[], directory = false): string {
  if (segments.length === 0) return "/";
  return `/${segments.join("/")}${directory || segments[segments.length - 1] === "" ? "/" : ""}`;
}

/** `path` without the trailing "/" that only says "the directory" ("/a/" is "/a"; "/a//", a directory named "", stays). */
export function canonicalPath(path: string): string {
  return path.length > 1 && path.endsWith("/") && !path.endsWith("//") ? path.slice(0, -1) : path;
}

/** The path of child `name` of the directory at `parent`. */
export function childPath(parent: string, name: string): string {
  const base = canonicalPath(parent);
  return `${base.endsWith("/") ? base : `${base}/`}${name}${name === "" ? "/" : ""}`;
}

/** The path of the directory holding `path` ("/" for "/" itself). */
export function parentPath(path: string): string {
  const { segments } = parsePath(path);
  return joinPath(segments.slice(0, -1));
}

/** Whether `path` is `base` or below it. */
export function isWithin(path: string, base: string): boolean {
  const dir = canonicalPath(base);
  return dir === "/" || canonicalPath(path) === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

function invalid(path: string, why: string): KoineError {
  return new KoineError(ErrorCode.InvalidArgument, `Cannot use path "${path}": ${why}`);
}
