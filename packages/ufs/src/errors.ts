import { type ErrorCode, KoineError } from "@koine/protocol";

/** Codes the UFS layer raises: a subset of the stable codes. */
export type UfsErrorCode = Extract<
  ErrorCode,
  "NOT_FOUND" | "ALREADY_EXISTS" | "INVALID_ARGUMENT" | "STALE" | "NOT_EMPTY" | "PERMISSION_DENIED" | "IS_A_DIRECTORY" | "NOT_A_DIRECTORY"
>;

/** A failure of an under-store operation; its code travels like any other. */
export class UfsError extends KoineError {
  override name = "UfsError";
  declare readonly code: UfsErrorCode;

  constructor(code: UfsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
