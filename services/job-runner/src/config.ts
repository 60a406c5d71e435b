import type { DataNode } from "@koine/client";
import { natsUrlFrom, portFrom } from "@koine/config";

/** The port of the job runner's /healthz, /readyz and /metrics. */
export const DEFAULT_OPS_PORT = 19997;

export interface JobRunnerOptions {
  natsUrl: string;
  /** Cache nodes in this process, reached without HTTP. */
  localNodes?: ReadonlyMap<string, DataNode>;
  /** Where /healthz, /readyz and /metrics are served (none in the all-in-one process, whose front-ends answer them). */
  ops?: { host: string; port: number };
}

/** Options from KOINE_NATS_URL, KOINE_JOB_RUNNER_HOST, KOINE_JOB_RUNNER_PORT. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): JobRunnerOptions {
  return {
    natsUrl: natsUrlFrom(env),
    ops: { host: env.KOINE_JOB_RUNNER_HOST ?? "0.0.0.0", port: portFrom(env, "KOINE_JOB_RUNNER_PORT", DEFAULT_OPS_PORT) },
  };
}
