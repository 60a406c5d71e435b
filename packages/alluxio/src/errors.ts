import { ErrorCode, KoineError } from "@koine/protocol";

/** An Alluxio REST error: HTTP 500 with {"statusCode": <gRPC code>, "message": ...}. */
export class AlluxioError extends Error {
  override name = "AlluxioError";
  readonly statusCode: string;

  constructor(statusCode: string, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** The gRPC status name of each code; a new code fails tsc until named here. */
const GRPC = {
  [ErrorCode.NotFound]: "NOT_FOUND",
  [ErrorCode.NoSuchUpload]: "NOT_FOUND",
  [ErrorCode.AlreadyExists]: "ALREADY_EXISTS",
  [ErrorCode.InvalidArgument]: "INVALID_ARGUMENT",
  [ErrorCode.InvalidPart]: "INVALID_ARGUMENT",
  [ErrorCode.InvalidPartOrder]: "INVALID_ARGUMENT",
  [ErrorCode.EntityTooSmall]: "INVALID_ARGUMENT",
  [ErrorCode.NotEmpty]: "FAILED_PRECONDITION",
  [ErrorCode.FailedPrecondition]: "FAILED_PRECONDITION",
  [ErrorCode.ConditionNotMet]: "FAILED_PRECONDITION",
  [ErrorCode.QuotaExceeded]: "RESOURCE_EXHAUSTED",
  [ErrorCode.NotADirectory]: "FAILED_PRECONDITION",
  [ErrorCode.IsADirectory]: "FAILED_PRECONDITION",
  [ErrorCode.PermissionDenied]: "PERMISSION_DENIED",
  [ErrorCode.Unauthenticated]: "UNAUTHENTICATED",
  [ErrorCode.NotImplemented]: "UNIMPLEMENTED",
  [ErrorCode.Unavailable]: "UNAVAILABLE",
  [ErrorCode.Stale]: "UNAVAILABLE",
  [ErrorCode.Timeout]: "DEADLINE_EXCEEDED",
  [ErrorCode.Internal]: "INTERNAL",
} satisfies Record<ErrorCode, string>;

/** The Alluxio error for anything thrown: the one place codes become gRPC names. */
export function toAlluxioError(err: unknown): AlluxioError {
  if (err instanceof AlluxioError) return err;
  if (err instanceof KoineError) return new AlluxioError(GRPC[err.code], err.message);
  return new AlluxioError("INTERNAL", err instanceof Error ? err.message : String(err));
}
