/**
 * Ozone's ErrorTable (`web/exceptions/ErrorTable.java`): every error a v1
 * REST call answers, its status and `shortMessage`, and its default message.
 */
export const ERROR_TABLE = {
  MISSING_VERSION: [400, "missingVersion", "x-ozone-version header is required."],
  MISSING_DATE: [400, "missingDate", "Date header is required."],
  BAD_DATE: [400, "badDate", "Unable to parse date format."],
  MALFORMED_QUOTA: [400, "malformedQuota", "Invalid quota specified."],
  MALFORMED_ACL: [400, "malformedACL", "Invalid ACL specified."],
  INVALID_VOLUME_NAME: [400, "invalidVolumeName", "Invalid volume name."],
  INVALID_QUERY_PARAM: [400, "invalidQueryParam", "Invalid query parameter."],
  INVALID_RESOURCE_NAME: [400, "invalidResourceName", "Invalid volume, bucket or key name."],
  INVALID_BUCKET_NAME: [400, "invalidBucketName", "Invalid bucket name."],
  INVALID_KEY: [400, "invalidKey", "Invalid key."],
  INVALID_REQUEST: [400, "invalidRequest", "Error in request."],
  MALFORMED_BUCKET_VERSION: [400, "malformedBucketVersion", "Malformed bucket version or version not unique."],
  MALFORMED_STORAGE_TYPE: [400, "malformedStorageType", "Invalid storage Type specified."],
  MALFORMED_STORAGE_CLASS: [400, "malformedStorageClass", "Invalid storage class specified."],
  BAD_DIGEST: [400, "badDigest", "Content MD5 does not match."],
  INCOMPLETE_BODY: [400, "incompleteBody", "Content length does not match stream size."],
  BAD_AUTHORIZATION: [400, "badAuthorization", "Missing authorization or authorization has to be unique."],
  BAD_PROPERTY: [400, "unknownProperty", "This property is not supported by this server."],
  UNAUTHORIZED: [401, "Unauthorized", "Access token is missing or invalid token."],
  ACCESS_DENIED: [403, "accessDenied", "Access denied."],
  USER_NOT_FOUND: [404, "userNotFound", "Invalid user name."],
  VOLUME_NOT_FOUND: [404, "volumeNotFound", "No such volume."],
  VOLUME_ALREADY_EXISTS: [409, "volumeAlreadyExists", "Duplicate volume name."],
  BUCKET_ALREADY_EXISTS: [409, "bucketAlreadyExists", "Duplicate bucket name."],
  VOLUME_NOT_EMPTY: [409, "volumeNotEmpty", "Volume must not have any buckets."],
  BUCKET_NOT_EMPTY: [409, "bucketNotEmpty", "Bucket must not have any keys."],
  KEY_OPERATION_CONFLICT: [409, "keyOperationConflict", "Conflicting operation on the specified key is going on."],
  SERVER_ERROR: [500, "internalServerError", "Internal server error."],
} as const satisfies Record<string, readonly [number, string, string]>;

export type OzoneErrorCode = keyof typeof ERROR_TABLE;

/** An Ozone error: a row of the table, its message (the row's default unless given) and the resource it names. */
export class OzoneError extends Error {
  override name = "OzoneError";
  readonly code: OzoneErrorCode;
  readonly resource: string | null;

  constructor(code: OzoneErrorCode, message?: string, resource: string | null = null) {
    super(message ?? ERROR_TABLE[code][2]);
    this.code = code;
    this.resource = resource;
  }

  get status(): number {
    return ERROR_TABLE[this.code][0];
  }

  get shortMessage(): string {
    return ERROR_TABLE[this.code][1];
  }

  /** The body Ozone sends (`OzoneException.toJsonString`): compact, these six fields in this order, nulls kept. */
  body(requestId: string, hostName: string): string {
    return JSON.stringify({
      httpCode: this.status,
      shortMessage: this.shortMessage,
      resource: this.resource,
      message: this.message,
      requestID: requestId,
      hostName,
    });
  }
}
