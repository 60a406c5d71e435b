/**
 * The Alluxio 2.x proxy REST API (paths and streams) as a fastify plugin,
 * and a service that serves it with the S3 dialect under /api/v1/s3.
 * @module
 */

export type { AlluxioProxyOptions } from "./config.ts";
export { DEFAULT_PORT, parseConfig } from "./config.ts";
export type { AlluxioPluginOptions } from "./plugin.ts";
export { alluxioPlugin } from "./plugin.ts";
export type { AlluxioProxy } from "./service.ts";
export { start } from "./service.ts";
export type { StreamLimits } from "./streams.ts";
