/**
 * The Alluxio proxy service: the Alluxio proxy dialect (`@koine/alluxio`)
 * with the S3 dialect under /api/v1/s3, on port 39999.
 * @module
 */

export type { AlluxioProxyOptions } from "./config.ts";
export {
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_STREAMS_PER_CLIENT,
  DEFAULT_PORT,
  DEFAULT_STREAM_IDLE_MS,
  parseConfig,
  Settings,
} from "./config.ts";
export type { AlluxioProxy } from "./service.ts";
export { start } from "./service.ts";
