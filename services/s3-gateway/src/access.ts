import { ErrorCode, type FileInfo, KoineError } from "@koine/protocol";
import type { S3Context, S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";

/** Whether `accessKey` owns a bucket ("" is a bucket from before owners were kept: anyone's). */
export function owns(bucket: FileInfo, accessKey: string): boolean {
  return bucket.owner === "" || bucket.owner === accessKey;
}

/**
 * Refuses a request on a bucket that another user owns. A missing bucket
 * passes: the operation answers NoSuchBucket (or creates it).
 */
export async function authorize(ctx: S3Context, deps: S3Deps): Promise<void> {
  if (ctx.bucket === undefined) return;
  let bucket: FileInfo;
  try {
    bucket = await deps.client.stat(pathOf(ctx.bucket));
  } catch (err) {
    if (err instanceof KoineError && err.code === ErrorCode.NotFound) return;
    throw err;
  }
  if (!owns(bucket, ctx.auth.accessKey)) throw s3Error("AccessDenied");
}
