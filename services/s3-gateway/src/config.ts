import { type ClusterKey, clusterKeyOf } from "@koine/access";
import { readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import { DEFAULT_REGION, DOMAIN_SETTINGS, parseDomains } from "@koine/s3";
import { Type as T } from "@sinclair/typebox";

export interface S3GatewayOptions {
  natsUrl: string;
  /** Opens the users' sealed secrets. */
  clusterKey: ClusterKey;
  /** HTTPS with this certificate (KOINE_TLS_CERT, KOINE_TLS_KEY), trusting KOINE_TLS_CA for cache nodes. */
  tls?: Tls | undefined;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  region: string;
  bodyIdleTimeoutMs: number;
  blockSize?: number;
  /** Domains for virtual-hosted-style requests (`<bucket>.<domain>`). */
  virtualHostDomains?: string[];
  /** Processes serving the port, this one included. @default 1 */
  workers?: number;
}

export const DEFAULT_PORT = 9000;
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 20_000;

/** The S3 gateway's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  ...DOMAIN_SETTINGS,
  KOINE_S3_HOST: Setting.text("0.0.0.0", "Address the S3 gateway listens on"),
  KOINE_S3_PORT: Setting.port(DEFAULT_PORT, "Port of the S3 gateway"),
  KOINE_REGION: Setting.text(DEFAULT_REGION, "The region S3 clients sign for"),
  KOINE_S3_WORKERS: Setting.count(1, "Processes serving the S3 port, each on its own core (1: one process)", 64),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): S3GatewayOptions {
  const s = readSettings(Settings, env);
  return {
    natsUrl: s.KOINE_NATS_URL,
    host: s.KOINE_S3_HOST,
    port: s.KOINE_S3_PORT,
    region: s.KOINE_REGION,
    clusterKey: clusterKeyOf(s),
    tls: tlsOf(s),
    bodyIdleTimeoutMs: DEFAULT_BODY_IDLE_TIMEOUT_MS,
    virtualHostDomains: parseDomains(env),
    workers: s.KOINE_S3_WORKERS,
  };
}
