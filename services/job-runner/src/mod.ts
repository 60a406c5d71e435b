/**
 * The job runner: consumes koine's JetStream work queue of jobs.
 * @module
 */

export type { JobRunner, JobRunnerOptions } from "./service.ts";
export { start } from "./service.ts";
