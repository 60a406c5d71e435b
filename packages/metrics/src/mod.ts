/**
 * Metrics: prom-client counters, gauges and histograms in the process's one
 * registry, named `koine_*`, and the text `/metrics` answers with. Each
 * package defines the metrics of what it does, where it does it.
 * @module
 */
export { Counter, Gauge, Histogram } from "prom-client";
export { countedBody, nameOperation, observeHttp } from "./http.ts";
export {
  counter,
  gauge,
  histogram,
  METRICS_CONTENT_TYPE,
  type MetricsJson,
  metricsText,
  ownMetrics,
  SECONDS_BUCKETS,
  sumOfMetrics,
  takeMetricsFrom,
} from "./registry.ts";
