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
 * Checks an object key. Keys become paths of the namespace and of
 * file-system under-stores, so empty, "." and ".." segments are refused.
 */
export function checkKey(key: string): void {
  if (key === "") throw s3Error("InvalidArgument", "The object key must not be empty");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw s3Error("KeyTooLongError", undefined, { Key: key });
  const segments = (key.endsWith("/") ? key.slice(0, -1) : key).split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..") || key.includes("\0")) {
    throw s3Error("InvalidArgument", 'Object keys cannot contain empty, "." or ".." path segments in koine', { Key: key });
  }
}

/** The namespace path of a bucket, or of a key in it. */
export function pathOf(bucket: string, key?: string): string {
  return key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
}
