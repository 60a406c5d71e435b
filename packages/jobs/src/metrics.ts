import { counter, gauge } from "@koine/metrics";

/** Jobs ended, by kind (persist, load, free, rebalance) and state (SUCCEEDED, FAILED, STOPPED, RETRIED, TERMINATED). */
export const jobsEnded = counter({ name: "koine_jobs_total", help: "Jobs ended, by kind and state", labelNames: ["kind", "state"] });
/** Jobs running now, by kind. */
export const jobsRunning = gauge({ name: "koine_jobs_running", help: "Jobs running, by kind", labelNames: ["kind"] });
/** Bytes a job's batches loaded into (or freed from, or moved between) the cache nodes, by kind. */
export const jobBytes = counter({
  name: "koine_job_bytes_total",
  help: "Bytes loaded, freed or moved by jobs, by kind",
  labelNames: ["kind"],
});
/** Bytes per second of a kind's last batch. */
export const jobThroughput = gauge({
  name: "koine_job_throughput_bytes_per_second",
  help: "Bytes per second of the last batch of a job, by kind",
  labelNames: ["kind"],
});
