/**
 * The Alluxio proxy service: the Alluxio proxy dialect (`@koine/alluxio`)
 * with the S3 dialect under /api/v1/s3, on port 39999.
 * @module
 */

export type { AlluxioProxyOptions } from "./config.ts";
export { DEFAULT_PORT, parseConfig, Settings } from "./config.ts";
export type { AlluxioProxy } from "./service.ts";
export { start } from "./service.ts";
