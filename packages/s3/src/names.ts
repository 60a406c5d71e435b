import { s3Error } from "./errors.ts";

const MAX_KEY_BYTES = 1024;

/** Checks a bucket name against the S3 naming rules. */
export function checkBucketName(name: string): void {
  const ok =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith("xn--") &&
    !name.endsWith("-s3alias");
  if (!ok) throw s3Error("InvalidBucketName", undefined, { BucketName: name });
}

/**
 * Checks an object key: any UTF-8 of up to 1024 bytes but NUL (which no
 * under-store can name). Empty, "." and ".." segments are names like any.
 */
export function checkKey(key: string): void {
  if (key === "") throw s3Error("InvalidArgument", "The object key must not be empty");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw s3Error("KeyTooLongError", undefined, { Key: key });
  if (key.includes("\0")) throw s3Error("InvalidArgument", "Object keys cannot contain NUL in koine", { Key: key });
}

/** The namespace path of a bucket, or of a key in it. */
export function pathOf(bucket: string, key?: string): string {
  return key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
}
