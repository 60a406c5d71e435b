import { natsUrlFrom, portFrom } from "@koine/config";

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
export const DEFAULT_ACCESS_KEY = "koine";
export const DEFAULT_SECRET_KEY = "koinesecret";

/**
 * The users to seed at start-up: KOINE_ACCESS_KEY / KOINE_SECRET_KEY (default
 * koine / koinesecret) and every "ak:sk" of KOINE_S3_USERS ("ak:sk,ak2:sk2").
 */
export function parseUsers(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const accessKey = env.KOINE_ACCESS_KEY ?? DEFAULT_ACCESS_KEY;
  const secretKey = env.KOINE_SECRET_KEY ?? DEFAULT_SECRET_KEY;
  if (!accessKey || !secretKey) throw new Error("KOINE_ACCESS_KEY and KOINE_SECRET_KEY must not be empty");
  const users = new Map([[accessKey, secretKey]]);
  for (const pair of (env.KOINE_S3_USERS ?? "").split(",").filter((p) => p.trim() !== "")) {
    const colon = pair.indexOf(":");
    const ak = pair.slice(0, colon).trim();
    const sk = pair.slice(colon + 1).trim();
    if (colon <= 0 || !/^[A-Za-z0-9._-]{3,128}$/.test(ak) || sk.length < 8) {
      throw new Error(`KOINE_S3_USERS must be "accessKey:secretKey,..." (keys of 3+ letters, digits, . _ -; secrets of 8+), not "${pair}"`);
    }
    users.set(ak, sk);
  }
  return users;
}

/** Domains for virtual-hosted-style requests: KOINE_S3_DOMAINS ("s3.example.com,localhost"), default localhost. */
export function parseDomains(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.KOINE_S3_DOMAINS ?? "localhost")
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean);
}

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
