import {
  AggregatorRegistry,
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  register,
} from "prom-client";

/** Latency buckets, in seconds: 0.5 ms to 30 s. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const METRICS_CONTENT_TYPE = register.contentType;

/**
 * The metric called `config.name`: made once per process, whoever asks for
 * it (services sharing a process, as the all-in-one launcher runs them,
 * share their metrics, told apart by labels).
 */
function once<M>(name: string, make: () => M): M {
  return (register.getSingleMetric(name) as M | undefined) ?? make();
}

export function counter<L extends string>(config: CounterConfiguration<L>): Counter<L> {
  return once(config.name, () => new Counter(config));
}

export function gauge<L extends string>(config: GaugeConfiguration<L>): Gauge<L> {
  return once(config.name, () => new Gauge(config));
}

export function histogram<L extends string>(config: HistogramConfiguration<L>): Histogram<L> {
  return once(config.name, () => new Histogram({ buckets: SECONDS_BUCKETS, ...config }));
}

/** What `getMetricsAsJSON` gives: one process's metrics, which a front-end's processes add up. */
export type MetricsJson = Awaited<ReturnType<typeof register.getMetricsAsJSON>>;

let processMetrics = false;
/** Where {@link metricsText} comes from when not from this process alone (a front-end with worker processes). */
let metricsSource: (() => Promise<string>) | undefined;

function withProcessMetrics(): typeof register {
  if (!processMetrics) {
    processMetrics = true;
    collectDefaultMetrics();
    // Gauges named like counters: `promtool check metrics` refuses them (the same numbers stay, without "_total").
    for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
      register.removeSingleMetric(name);
    }
  }
  return register;
}

/** Every metric in Prometheus' text format (with Node's own: CPU, memory, event loop lag, from the first scrape on). */
export function metricsText(): Promise<string> {
  return metricsSource ? metricsSource() : withProcessMetrics().metrics();
}

/** This process's metrics alone, as JSON, for another process to add up ({@link sumOfMetrics}). */
export function ownMetrics(): Promise<MetricsJson> {
  return withProcessMetrics().getMetricsAsJSON();
}

/** Several processes' metrics as one text: counters and histograms summed, gauges as each declares (summed by default). */
export function sumOfMetrics(processes: MetricsJson[]): Promise<string> {
  return AggregatorRegistry.aggregate(processes).metrics();
}

/** Makes {@link metricsText} answer what `source` gives (undefined: this process's own again). */
export function takeMetricsFrom(source: (() => Promise<string>) | undefined): void {
  metricsSource = source;
}
