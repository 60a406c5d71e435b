/**
 * The job runner: consumes koine's JetStream work queue of jobs.
 * @module
 */
export { start } from "./service.ts";
export type { JobRunner, JobRunnerOptions } from "./service.ts";
