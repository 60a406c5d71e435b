/**
 * The cluster at a glance, for `koine status`, `koine top` and the console:
 * an {@link Overview} from the services bucket, the membership and every
 * process's `/metrics` (the same numbers Prometheus scrapes), the rates
 * between two of them, and a job's progress. Runs in Node and in browsers.
 * @module
 */
export { parseMetrics, type Sample } from "./metrics_text.ts";
export {
  type CacheCounters,
  collectOverview,
  type DialectCounters,
  type Histogram,
  type NodeOverview,
  type Overview,
  type OverviewSources,
  type ServiceOverview,
} from "./overview.ts";
export { age, jobProgress, mib } from "./progress.ts";
export { type CacheRates, type DialectRates, quantile, type Rates, ratesBetween } from "./rates.ts";
