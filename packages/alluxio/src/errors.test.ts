import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, KoineError } from "@koine/protocol";
import { AlluxioError, toAlluxioError } from "./errors.ts";

test("Alluxio errors - every koine error code has its gRPC status name; anything else is INTERNAL", () => {
  const names = new Set([
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "INVALID_ARGUMENT",
    "FAILED_PRECONDITION",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "UNIMPLEMENTED",
    "RESOURCE_EXHAUSTED",
  ]);
  for (const code of Object.values(ErrorCode)) {
    const err = toAlluxioError(new KoineError(code, "why"));
    assert.equal(err.message, "why");
    if (code === ErrorCode.Internal) assert.equal(err.statusCode, "INTERNAL");
    else if ([ErrorCode.Unavailable, ErrorCode.Stale].includes(code as never)) assert.equal(err.statusCode, "UNAVAILABLE", code);
    else if (code === ErrorCode.Timeout) assert.equal(err.statusCode, "DEADLINE_EXCEEDED");
    else assert.ok(names.has(err.statusCode), `${code} -> ${err.statusCode}`);
  }
  assert.equal(toAlluxioError(new KoineError(ErrorCode.NotEmpty, "x")).statusCode, "FAILED_PRECONDITION");
  assert.equal(toAlluxioError(new RangeError("x")).statusCode, "INTERNAL");
  const own = new AlluxioError("RESOURCE_EXHAUSTED", "too many");
  assert.equal(toAlluxioError(own), own);
});
