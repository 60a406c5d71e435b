import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, KoineError } from "@koine/protocol";
import { toS3Error } from "./errors.ts";

/** What S3 answers for each koine error about a key (and, where it differs, about a bucket). */
const EXPECTED: Record<ErrorCode, [number, string]> = {
  [ErrorCode.NotFound]: [404, "NoSuchKey"],
  [ErrorCode.AlreadyExists]: [409, "BucketAlreadyOwnedByYou"],
  [ErrorCode.NotEmpty]: [409, "BucketNotEmpty"],
  [ErrorCode.NotADirectory]: [400, "InvalidRequest"],
  [ErrorCode.IsADirectory]: [400, "InvalidRequest"],
  [ErrorCode.InvalidArgument]: [400, "InvalidArgument"],
  [ErrorCode.NoSuchUpload]: [404, "NoSuchUpload"],
  [ErrorCode.InvalidPart]: [400, "InvalidPart"],
  [ErrorCode.InvalidPartOrder]: [400, "InvalidPartOrder"],
  [ErrorCode.EntityTooSmall]: [400, "EntityTooSmall"],
  [ErrorCode.Stale]: [503, "ServiceUnavailable"],
  [ErrorCode.Unavailable]: [503, "ServiceUnavailable"],
  [ErrorCode.Timeout]: [503, "ServiceUnavailable"],
  [ErrorCode.NotImplemented]: [501, "NotImplemented"],
  [ErrorCode.PermissionDenied]: [403, "AccessDenied"],
  [ErrorCode.Unauthenticated]: [403, "AccessDenied"],
  [ErrorCode.FailedPrecondition]: [400, "InvalidRequest"],
  [ErrorCode.ConditionNotMet]: [412, "PreconditionFailed"],
  [ErrorCode.QuotaExceeded]: [403, "QuotaExceeded"],
  [ErrorCode.Internal]: [500, "InternalError"],
};

test("S3 errors - every koine error code has its S3 error; only INTERNAL is a 500, and it keeps its cause out of the message", () => {
  for (const code of Object.values(ErrorCode)) {
    const err = toS3Error(new KoineError(code, `detail of ${code}`), { bucket: "b", key: "k" });
    assert.deepEqual([err.status, err.code], EXPECTED[code], code);
    assert.equal(err.extra.Key, "k");
    if (code === ErrorCode.Internal) assert.doesNotMatch(err.message, /detail/);
  }
  assert.equal(toS3Error(new KoineError(ErrorCode.NotFound, "x"), { bucket: "b" }).code, "NoSuchBucket");
  const bug = toS3Error(new TypeError("undefined is not a function"), {});
  assert.deepEqual([bug.status, bug.code], [500, "InternalError"]);
  assert.doesNotMatch(bug.message, /undefined/, "a bug's message stays in the log");
});
