/**
 * The Alluxio 3.x coordinator admin REST API (port 19999): distributed
 * load, free and rebalance jobs, cache nodes, mounts, cache policies and
 * the global file index.
 * @module
 */

export type { AlluxioAdminOptions } from "./config.ts";
export { DEFAULT_PORT, parseConfig } from "./config.ts";
export type { AdminPluginOptions } from "./plugin.ts";
export { adminPlugin } from "./plugin.ts";
export type { AlluxioAdmin } from "./service.ts";
export { start } from "./service.ts";
