/**
 * The Alluxio 2.x proxy REST API (paths and streams) as a fastify plugin:
 * its routes, its errors (`{"statusCode", "message"}` with HTTP 500, as the
 * real proxy answers) and its streams.
 * @module
 */

export type { AlluxioPluginOptions } from "./plugin.ts";
export { alluxioPlugin } from "./plugin.ts";
export type { StreamLimits } from "./streams.ts";
export { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CLIENT, DEFAULT_STREAM_IDLE_MS } from "./streams.ts";
