import type { FileInfo } from "@koine/protocol";
import { s3Error } from "./errors.ts";

/** What a failed precondition means: 304 for GET/HEAD freshness checks, else 412. */
export type ConditionOutcome = "ok" | "not-modified";

function etags(header: string): string[] {
  return header.split(",").map((t) => t.trim().replace(/^W\//, "").replace(/^"|"$/g, ""));
}

function matches(header: string, etag: string): boolean {
  const list = etags(header);
  return list.includes("*") || list.includes(etag);
}

/** Seconds precision, as HTTP dates have. */
function modifiedAfter(info: FileInfo, header: string): boolean | undefined {
  const since = Date.parse(header);
  if (Number.isNaN(since)) return undefined;
  return Math.floor(info.mtimeMs / 1000) * 1000 > since;
}

export interface Conditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
  ifModifiedSince?: string | undefined;
  ifUnmodifiedSince?: string | undefined;
}

/**
 * Evaluates HTTP preconditions against an object as S3 does (RFC 7232
 * order): a failed If-Match or If-Unmodified-Since is 412; a failed
 * If-None-Match or If-Modified-Since is "not-modified" (304 for GET and
 * HEAD), or 412 when `strict` (copy sources).
 */
export function checkConditions(info: FileInfo, c: Conditions, strict = false): ConditionOutcome {
  const etag = info.etag;
  const failed = (condition: string) => s3Error("PreconditionFailed", undefined, { Condition: condition });
  if (c.ifMatch !== undefined) {
    if (!matches(c.ifMatch, etag)) throw failed("If-Match");
  } else if (c.ifUnmodifiedSince !== undefined && modifiedAfter(info, c.ifUnmodifiedSince) === true) {
    throw failed("If-Unmodified-Since");
  }
  if (c.ifNoneMatch !== undefined) {
    if (matches(c.ifNoneMatch, etag)) {
      if (strict) throw failed("If-None-Match");
      return "not-modified";
    }
  } else if (c.ifModifiedSince !== undefined && modifiedAfter(info, c.ifModifiedSince) === false) {
    if (strict) throw failed("If-Modified-Since");
    return "not-modified";
  }
  return "ok";
}
