/**
 * The Alluxio 3.x coordinator admin REST API as a fastify plugin:
 * distributed load, free and rebalance jobs, cache nodes, mounts, cache
 * policies and the global file index, over the client's cluster operations.
 * Errors are `{"status": message}` with the seed page's HTTP codes.
 * @module
 */

export { adminClientErrorHandler } from "./errors.ts";
export type { AdminPluginOptions } from "./plugin.ts";
export { adminPlugin } from "./plugin.ts";
