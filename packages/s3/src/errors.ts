import { ErrorCode, KoineError } from "@koine/protocol";

/** An S3 error as the wire shows it: code, HTTP status, message. */
export class S3Error extends Error {
  override name = "S3Error";
  readonly code: string;
  readonly status: number;
  /** Extra elements of the `<Error>` body (Key, BucketName, ...). */
  readonly extra: Record<string, string>;
  /** Headers the error answer carries (a delete marker's x-amz-delete-marker, ...). */
  readonly headers: Record<string, string> = {};

  constructor(code: string, status: number, message: string, extra: Record<string, string> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.extra = extra;
  }
}

/** The S3 errors koine answers, by code: status and standard message. */
export const S3Errors = {
  AccessForbidden: [403, "CORSResponse: This CORS request is not allowed."],
  BadRequest: [400, "Bad Request"],
  EntityTooLarge: [400, "Your proposed upload exceeds the maximum allowed size"],
  NoSuchCORSConfiguration: [404, "The CORS configuration does not exist"],
  InvalidPolicyDocument: [400, "The content of the form does not meet the conditions specified in the policy document."],
  MalformedPOSTRequest: [400, "The body of your POST request is not well-formed multipart/form-data."],
  AccessDenied: [403, "Access Denied"],
  AuthorizationHeaderMalformed: [400, "The authorization header is malformed."],
  AuthorizationQueryParametersError: [400, "Error parsing the query-string authentication parameters."],
  BadDigest: [400, "The Content-MD5 or checksum value that you specified did not match what the server received."],
  BucketAlreadyExists: [409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system."],
  BucketAlreadyOwnedByYou: [409, "Your previous request to create the named bucket succeeded and you already own it."],
  BucketNotEmpty: [409, "The bucket you tried to delete is not empty."],
  EntityTooSmall: [400, "Your proposed upload is smaller than the minimum allowed object size."],
  IncompleteBody: [400, "You did not provide the number of bytes specified by the Content-Length HTTP header."],
  InternalError: [500, "We encountered an internal error. Please try again."],
  InvalidAccessKeyId: [403, "The AWS access key Id you provided does not exist in our records."],
  InvalidArgument: [400, "Invalid Argument"],
  InvalidBucketName: [400, "The specified bucket is not valid."],
  InvalidDigest: [400, "The Content-MD5 or checksum value that you specified is not valid."],
  InvalidPart: [
    400,
    "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  ],
  InvalidPartOrder: [400, "The list of parts was not in ascending order. Parts must be ordered by part number."],
  InvalidRange: [416, "The requested range is not satisfiable"],
  InvalidRequest: [400, "Invalid Request"],
  InvalidURI: [400, "Couldn't parse the specified URI."],
  InvalidTag: [400, "The tag provided was not a valid tag."],
  KeyTooLongError: [400, "Your key is too long"],
  MalformedPolicy: [400, "Policies must be valid JSON and the first byte must be '{'"],
  MalformedXML: [400, "The XML you provided was not well-formed or did not validate against our published schema."],
  MethodNotAllowed: [405, "The specified method is not allowed against this resource."],
  NoSuchVersion: [404, "The specified version does not exist."],
  InvalidBucketState: [409, "The request is not valid with the current state of the bucket."],
  ObjectLockConfigurationNotFoundError: [404, "Object Lock configuration does not exist for this bucket"],
  NoSuchObjectLockConfiguration: [404, "The specified object does not have a ObjectLock configuration"],
  MissingContentLength: [411, "You must provide the Content-Length HTTP header."],
  NoSuchBucket: [404, "The specified bucket does not exist."],
  NoSuchBucketPolicy: [404, "The bucket policy does not exist"],
  NoSuchKey: [404, "The specified key does not exist."],
  NoSuchPublicAccessBlockConfiguration: [404, "The public access block configuration was not found"],
  NoSuchTagSet: [404, "The TagSet does not exist"],
  NoSuchUpload: [
    404,
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
  ],
  NotImplemented: [501, "A header or query you provided implies functionality that is not implemented."],
  // Not AWS's (its buckets have no quota): Ceph RGW's and Ozone's S3 gateway's, for a bucket (volume) quota.
  QuotaExceeded: [403, "The quota has been exceeded."],
  InvalidPartNumber: [416, "The requested partnumber is not satisfiable"],
  PreconditionFailed: [412, "At least one of the pre-conditions you specified did not hold"],
  RequestTimeTooSkewed: [403, "The difference between the request time and the server's time is too large."],
  RequestTimeout: [400, "Your socket connection to the server was not read from or written to within the timeout period."],
  ServiceUnavailable: [503, "Please reduce your request rate."],
  SignatureDoesNotMatch: [
    403,
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  ],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed."],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof S3Errors;

/** An S3 error with its standard status; `message` overrides the standard text. */
export function s3Error(code: S3ErrorCode, message?: string, extra: Record<string, string> = {}): S3Error {
  const [status, standard] = S3Errors[code];
  return new S3Error(code, status, message ?? standard, extra);
}

/** Where a request was aimed, to name the right "no such" error. */
export interface Target {
  bucket?: string;
  key?: string;
}

/** Maps any error of the file-system client to the S3 error a client expects. */
export function toS3Error(err: unknown, target: Target): S3Error {
  if (err instanceof S3Error) return err;
  if (!(err instanceof KoineError)) return new S3Error("InternalError", 500, S3Errors.InternalError[1], {}, { cause: err });
  const extra: Record<string, string> = {};
  if (target.bucket) extra.BucketName = target.bucket;
  if (target.key !== undefined) extra.Key = target.key;
  switch (err.code) {
    case ErrorCode.NotFound:
      return s3Error(target.key !== undefined ? "NoSuchKey" : "NoSuchBucket", undefined, extra);
    case ErrorCode.NotEmpty:
      return s3Error("BucketNotEmpty", undefined, extra);
    case ErrorCode.AlreadyExists:
      return s3Error("BucketAlreadyOwnedByYou", undefined, extra);
    case ErrorCode.NotADirectory:
    case ErrorCode.IsADirectory:
      return s3Error("InvalidRequest", err.message, extra);
    case ErrorCode.InvalidArgument:
      return s3Error("InvalidArgument", err.message, extra);
    case ErrorCode.PermissionDenied:
    case ErrorCode.Unauthenticated:
      return s3Error("AccessDenied", err.message, extra);
    case ErrorCode.NoSuchUpload:
      return s3Error("NoSuchUpload", undefined, extra);
    case ErrorCode.InvalidPart:
      return s3Error("InvalidPart", undefined, extra);
    case ErrorCode.InvalidPartOrder:
      return s3Error("InvalidPartOrder", undefined, extra);
    case ErrorCode.EntityTooSmall:
      return s3Error("EntityTooSmall", undefined, extra);
    case ErrorCode.NotImplemented:
      return s3Error("NotImplemented", err.message, extra);
    case ErrorCode.FailedPrecondition:
      return s3Error("InvalidRequest", err.message, extra);
    case ErrorCode.ConditionNotMet:
      return s3Error("PreconditionFailed", undefined, extra);
    case ErrorCode.QuotaExceeded:
      return s3Error("QuotaExceeded", err.message, extra);
    case ErrorCode.Unavailable:
    case ErrorCode.Timeout:
    case ErrorCode.Stale:
      return s3Error("ServiceUnavailable", err.message, extra);
    case ErrorCode.Internal:
      return new S3Error("InternalError", 500, S3Errors.InternalError[1], extra, { cause: err });
  }
  // Every code is answered above: a new one fails tsc here until it is.
  const unmapped: never = err.code;
  return unmapped;
}
