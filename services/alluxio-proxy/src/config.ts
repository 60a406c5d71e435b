import { natsUrlFrom, portFrom } from "@koine/config";
import { parseDomains, parseUsers } from "@koine/s3-gateway";

export interface AlluxioProxyOptions {
  natsUrl: string;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Users seeded at start-up for the S3 API under /api/v1/s3. */
  credentials: Map<string, string>;
  virtualHostDomains?: string[];
  blockSize?: number;
}

export const DEFAULT_PORT = 39999;

/** Options from KOINE_NATS_URL, KOINE_ALLUXIO_PORT, KOINE_ALLUXIO_HOST and the S3 user settings. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): AlluxioProxyOptions {
  return {
    natsUrl: natsUrlFrom(env),
    host: env.KOINE_ALLUXIO_HOST ?? "0.0.0.0",
    port: portFrom(env, "KOINE_ALLUXIO_PORT", DEFAULT_PORT),
    credentials: parseUsers(env),
    virtualHostDomains: parseDomains(env),
  };
}
