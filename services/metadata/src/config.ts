import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { durationFrom, homeFrom, natsUrlFrom, portFrom } from "@koine/config";
import { DEFAULT_SWEEP_GRACE_MS, DEFAULT_SWEEP_INTERVAL_MS, type SweepOptions } from "@koine/namespace";

export const DEFAULT_SYNC_INTERVAL_MS = 30_000;
export const DEFAULT_TTL_CHECK_MS = 5_000;
/** The port of metadata's /healthz, /readyz and /metrics. */
export const DEFAULT_OPS_PORT = 19998;

export interface MetadataOptions {
  /** NATS server URL(s). */
  natsUrl: string;
  /** Directory of the LMDB files. */
  dataDir: string;
  /** URI of the under-store mounted at "/". */
  rootUfs: string;
  /** How old namespace entries may get before they are compared with the under-store again (-1: never). @default 30 s */
  syncIntervalMs?: number;
  /** How often times to live are checked. @default 5 s */
  ttlCheckMs?: number;
  /** How often the under-stores are swept, and how old a staged write must be to go. @default 10 min, 1 h */
  sweep?: SweepOptions;
  /** Where /healthz, /readyz and /metrics are served (none in the all-in-one process, whose front-ends answer them). */
  ops?: { host: string; port: number };
}

/**
 * Options from the environment: KOINE_NATS_URL, KOINE_HOME, KOINE_ROOT_UFS, KOINE_UFS_SYNC_INTERVAL,
 * KOINE_TTL_CHECK_INTERVAL, KOINE_SWEEP_INTERVAL, KOINE_SWEEP_GRACE, KOINE_METADATA_HOST, KOINE_METADATA_PORT.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): MetadataOptions {
  const home = homeFrom(env);
  const rootUfs = env.KOINE_ROOT_UFS ?? pathToFileURL(join(home, "ufs")).href;
  if (!/^[a-z0-9]+:\/\//.test(rootUfs)) throw new Error(`KOINE_ROOT_UFS must be a URI such as file:///data, not "${rootUfs}"`);
  return {
    natsUrl: natsUrlFrom(env),
    dataDir: join(home, "metadata"),
    rootUfs,
    syncIntervalMs: durationFrom(env, "KOINE_UFS_SYNC_INTERVAL", DEFAULT_SYNC_INTERVAL_MS),
    ttlCheckMs: durationFrom(env, "KOINE_TTL_CHECK_INTERVAL", DEFAULT_TTL_CHECK_MS),
    sweep: {
      intervalMs: durationFrom(env, "KOINE_SWEEP_INTERVAL", DEFAULT_SWEEP_INTERVAL_MS),
      graceMs: durationFrom(env, "KOINE_SWEEP_GRACE", DEFAULT_SWEEP_GRACE_MS),
    },
    ops: { host: env.KOINE_METADATA_HOST ?? "0.0.0.0", port: portFrom(env, "KOINE_METADATA_PORT", DEFAULT_OPS_PORT) },
  };
}
