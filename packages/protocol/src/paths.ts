import { ErrorCode, KoineError } from "./errors.ts";

/** A parsed namespace path. `directory` is true for a trailing "/". */
export interface ParsedPath {
  segments: string[];
  directory: boolean;
}

const MAX_SEGMENT_BYTES = 255;

/** Parses a namespace path, "/a/b/c" or "/a/b/", into segments, refusing names no store can hold (INVALID_ARGUMENT). */
export function parsePath(path: string): ParsedPath {
  if (!path.startsWith("/")) throw invalid(path, "it is not absolute");
  const directory = path.length > 1 && path.endsWith("/");
  const body = path.slice(1, directory ? -1 : undefined);
  const segments = body === "" ? [] : body.split("/");
  for (const s of segments) {
    if (s === "" || s === "." || s === "..") throw invalid(path, 'it has an empty, "." or ".." segment');
    if (s.includes("\0")) throw invalid(path, "it contains NUL");
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) throw invalid(path, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return { segments, directory };
}

/** The namespace path of `segments`. */
export function joinPath(segments: readonly string[]): string {
  return `/${segments.join("/")}`;
}

function invalid(path: string, why: string): KoineError {
  return new KoineError(ErrorCode.InvalidArgument, `Cannot use path "${path}": ${why}`);
}
