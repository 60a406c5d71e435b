export interface S3GatewayOptions {
  natsUrl: string;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  region: string;
  /** Access key → secret key. */
  credentials: Map<string, string>;
  bodyIdleTimeoutMs: number;
  blockSize?: number;
}

export const DEFAULT_PORT = 9000;
export const DEFAULT_ACCESS_KEY = "koine";
export const DEFAULT_SECRET_KEY = "koinesecret";

/** Options from KOINE_NATS_URL, KOINE_S3_PORT, KOINE_S3_HOST, KOINE_REGION, KOINE_ACCESS_KEY, KOINE_SECRET_KEY. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): S3GatewayOptions {
  const port = Number(env.KOINE_S3_PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`KOINE_S3_PORT must be a port number, not "${env.KOINE_S3_PORT}"`);
  const accessKey = env.KOINE_ACCESS_KEY ?? DEFAULT_ACCESS_KEY;
  const secretKey = env.KOINE_SECRET_KEY ?? DEFAULT_SECRET_KEY;
  if (!accessKey || !secretKey) throw new Error("KOINE_ACCESS_KEY and KOINE_SECRET_KEY must not be empty");
  return {
    natsUrl: env.KOINE_NATS_URL ?? "nats://127.0.0.1:4222",
    host: env.KOINE_S3_HOST ?? "0.0.0.0",
    port,
    region: env.KOINE_REGION ?? "us-east-1",
    credentials: new Map([[accessKey, secretKey]]),
    bodyIdleTimeoutMs: 20_000,
  };
}
