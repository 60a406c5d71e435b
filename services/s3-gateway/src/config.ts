import { natsUrlFrom, portFrom } from "@koine/config";
import { parseUsers } from "@koine/frontend";
import { parseDomains } from "@koine/s3";

export interface S3GatewayOptions {
  natsUrl: string;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  region: string;
  /** Users seeded at start-up (access key → secret key); more are added with `scripts/koine user add`. */
  credentials: Map<string, string>;
  bodyIdleTimeoutMs: number;
  blockSize?: number;
  /** Domains for virtual-hosted-style requests (`<bucket>.<domain>`). */
  virtualHostDomains?: string[];
}

export const DEFAULT_PORT = 9000;

/** Options from KOINE_NATS_URL, KOINE_S3_PORT, KOINE_S3_HOST, KOINE_REGION, KOINE_S3_DOMAINS and the users of {@link parseUsers}. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): S3GatewayOptions {
  return {
    natsUrl: natsUrlFrom(env),
    host: env.KOINE_S3_HOST ?? "0.0.0.0",
    port: portFrom(env, "KOINE_S3_PORT", DEFAULT_PORT),
    region: env.KOINE_REGION ?? "us-east-1",
    credentials: parseUsers(env),
    bodyIdleTimeoutMs: 20_000,
    virtualHostDomains: parseDomains(env),
  };
}
