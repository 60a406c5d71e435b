import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, KoineError } from "@koine/protocol";
import { AdminError, toAdminError } from "./errors.ts";

test("admin API errors - koine codes by the cluster's HTTP table (no code becomes a 500 but INTERNAL); fastify's own errors keep their 4xx", () => {
  for (const code of Object.values(ErrorCode)) {
    const status = toAdminError(new KoineError(code, "why")).httpStatus;
    if (code === ErrorCode.Internal) assert.equal(status, 500);
    else assert.ok(status >= 400 && status !== 500, `${code} -> ${status}`);
  }
  assert.equal(toAdminError(new KoineError(ErrorCode.Timeout, "x")).httpStatus, 503);
  assert.equal(toAdminError(new KoineError(ErrorCode.FailedPrecondition, "x")).httpStatus, 409);
  const tooLarge = toAdminError(
    Object.assign(new Error("Request body is too large"), { code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413 }),
  );
  assert.deepEqual([tooLarge.httpStatus, tooLarge.message], [400, "The request body is too large"]);
  assert.equal(toAdminError(Object.assign(new Error("Unsupported Media Type"), { statusCode: 415 })).httpStatus, 415);
  assert.equal(toAdminError(new Error("a bug")).httpStatus, 500);
  const own = new AdminError(410, "gone");
  assert.equal(toAdminError(own), own);
});
