import { natsUrlFrom, portFrom } from "@koine/config";

export interface AlluxioAdminOptions {
  natsUrl: string;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Endpoints switched off (they answer 501), e.g. ["quota", "ttl"]. */
  disabled?: string[];
}

export const DEFAULT_PORT = 19999;

/** Options from KOINE_NATS_URL, KOINE_ADMIN_PORT, KOINE_ADMIN_HOST and KOINE_ADMIN_DISABLED (endpoint names, comma-separated). */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): AlluxioAdminOptions {
  return {
    natsUrl: natsUrlFrom(env),
    host: env.KOINE_ADMIN_HOST ?? "0.0.0.0",
    port: portFrom(env, "KOINE_ADMIN_PORT", DEFAULT_PORT),
    disabled: (env.KOINE_ADMIN_DISABLED ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
