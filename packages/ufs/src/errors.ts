/** Codes the UFS layer raises; they match the stable codes of @koine/protocol. */
export type UfsErrorCode = "NOT_FOUND" | "ALREADY_EXISTS" | "INVALID_ARGUMENT" | "STALE" | "NOT_EMPTY" | "PERMISSION_DENIED";

/** A failure of an under-store operation, with a stable code. */
export class UfsError extends Error {
  override name = "UfsError";
  readonly code: UfsErrorCode;

  constructor(code: UfsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
