/**
 * The S3 dialect as a fastify plugin: path-style and virtual-hosted
 * addressing, SigV4 and SigV2 authentication, aws-chunked bodies, buckets,
 * objects, multipart uploads, ACLs, tagging, checksums, over the shared
 * file-system client. Services mount it (the S3 gateway on its own port,
 * the Alluxio proxy under /api/v1/s3).
 * @module
 */

export { type AuthMode, authenticateHttp } from "./authenticate.ts";
export type { S3PluginOptions } from "./plugin.ts";
export {
  DEFAULT_BODY_IDLE_TIMEOUT_MS,
  DEFAULT_REGION,
  DEFAULT_VIRTUAL_HOST_DOMAINS,
  s3ClientErrorHandler,
  s3FrameworkErrors,
  s3Plugin,
  virtualHostBucket,
} from "./plugin.ts";
export { DOMAIN_SETTINGS, parseDomains } from "./settings.ts";
