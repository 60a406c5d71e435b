/**
 * The job runner: consumes koine's JetStream work queue of jobs.
 * @module
 */

export type { JobRunnerOptions } from "./config.ts";
export { DEFAULT_OPS_PORT, parseConfig, Settings } from "./config.ts";
export type { JobRunner } from "./service.ts";
export { start } from "./service.ts";
