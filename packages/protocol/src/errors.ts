/**
 * Stable error codes that cross service boundaries. Each front-end maps
 * these to its dialect's wire error in exactly one place.
 */
export const ErrorCode = {
  NotFound: "NOT_FOUND",
  AlreadyExists: "ALREADY_EXISTS",
  NotEmpty: "NOT_EMPTY",
  NotADirectory: "NOT_A_DIRECTORY",
  IsADirectory: "IS_A_DIRECTORY",
  InvalidArgument: "INVALID_ARGUMENT",
  NoSuchUpload: "NO_SUCH_UPLOAD",
  InvalidPart: "INVALID_PART",
  InvalidPartOrder: "INVALID_PART_ORDER",
  EntityTooSmall: "ENTITY_TOO_SMALL",
  Stale: "STALE",
  Unavailable: "UNAVAILABLE",
  Timeout: "TIMEOUT",
  NotImplemented: "NOT_IMPLEMENTED",
  PermissionDenied: "PERMISSION_DENIED",
  /** No credentials, or credentials that do not check out. */
  Unauthenticated: "UNAUTHENTICATED",
  /** The cluster is not in a state that allows it (decommissioning the last cache node). */
  FailedPrecondition: "FAILED_PRECONDITION",
  /** A conditional write found the path holding another version than its condition names (HTTP 412). */
  ConditionNotMet: "CONDITION_NOT_MET",
  /** A write would take a top-level directory past its quota. */
  QuotaExceeded: "QUOTA_EXCEEDED",
  Internal: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN = new Set<string>(Object.values(ErrorCode));

/** True when `code` is one of the stable codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && KNOWN.has(code);
}

/** An error whose `code` survives a trip over NATS or HTTP. */
export class KoineError extends Error {
  override name = "KoineError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** QUOTA_EXCEEDED for `bytes` more in top-level directory `top`, which holds `used` (and `held` being written) of its `quota`. */
export function quotaExceeded(top: string, bytes: number, used: number, quota: number, held = 0): KoineError {
  const writing = held > 0 ? ` (and ${held} being written)` : "";
  return new KoineError(
    ErrorCode.QuotaExceeded,
    `Cannot write ${bytes} bytes in "/${top}": it holds ${used}${writing} of its quota of ${quota} bytes`,
  );
}

/** The stable code of any thrown value; unknown errors are INTERNAL. */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof KoineError ? err.code : ErrorCode.Internal;
}

/**
 * The HTTP status of each code, for the JSON APIs (admin API, cache-node data
 * endpoint); a code missing here fails tsc instead of becoming a 500.
 */
export const HTTP_STATUS = {
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.InvalidPart]: 400,
  [ErrorCode.InvalidPartOrder]: 400,
  [ErrorCode.EntityTooSmall]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.NoSuchUpload]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.NotEmpty]: 409,
  [ErrorCode.NotADirectory]: 409,
  [ErrorCode.IsADirectory]: 409,
  [ErrorCode.FailedPrecondition]: 409,
  [ErrorCode.ConditionNotMet]: 412,
  [ErrorCode.QuotaExceeded]: 403,
  [ErrorCode.Internal]: 500,
  [ErrorCode.NotImplemented]: 501,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Stale]: 503,
  [ErrorCode.Timeout]: 503,
} as const satisfies Record<ErrorCode, number>;
