import { type ClusterKey, clusterKeyOf } from "@koine/access";
import type { DataNode } from "@koine/client";
import { readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import { Type as T } from "@sinclair/typebox";

/** The port of the job runner's /healthz, /readyz and /metrics. */
export const DEFAULT_OPS_PORT = 19997;

export interface JobRunnerOptions {
  natsUrl: string;
  /** The key every service shares: the runner's NATS password comes from it. */
  clusterKey: ClusterKey;
  /** Cache nodes in this process, reached without HTTP. */
  localNodes?: ReadonlyMap<string, DataNode>;
  /** Where /healthz, /readyz and /metrics are served (none in the all-in-one process, whose front-ends answer them). */
  ops?: { host: string; port: number };
  /** HTTPS for the ops port, and the CA cache nodes' certificates are checked against. */
  tls?: Tls | undefined;
}

/** The job runner's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  KOINE_JOB_RUNNER_HOST: Setting.text("0.0.0.0", "Address of the job runner's health and metrics"),
  KOINE_JOB_RUNNER_PORT: Setting.port(DEFAULT_OPS_PORT, "Port of the job runner's health and metrics"),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): JobRunnerOptions {
  const s = readSettings(Settings, env);
  return {
    natsUrl: s.KOINE_NATS_URL,
    clusterKey: clusterKeyOf(s),
    tls: tlsOf(s),
    ops: { host: s.KOINE_JOB_RUNNER_HOST, port: s.KOINE_JOB_RUNNER_PORT },
  };
}
