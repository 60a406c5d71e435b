/**
 * Running jobs: the admin API's load, free and rebalance jobs a batch at a
 * time over their files (resumable after a crash), and their metrics. The
 * job-runner service composes them.
 * @module
 */

export { jobsEnded, jobsRunning } from "./metrics.ts";
export { runJob } from "./run.ts";
