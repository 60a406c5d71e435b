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
  const port = Number(env.KOINE_ALLUXIO_PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`KOINE_ALLUXIO_PORT must be a port number, not "${env.KOINE_ALLUXIO_PORT}"`);
  }
  return {
    natsUrl: env.KOINE_NATS_URL ?? "nats://127.0.0.1:4222",
    host: env.KOINE_ALLUXIO_HOST ?? "0.0.0.0",
    port,
    credentials: parseUsers(env),
    virtualHostDomains: parseDomains(env),
  };
}
