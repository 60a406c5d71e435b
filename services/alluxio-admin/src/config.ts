import { type ClusterKey, clusterKeyOf } from "@koine/access";
import { readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import { Type as T } from "@sinclair/typebox";

export interface AlluxioAdminOptions {
  natsUrl: string;
  /** Opens the users' sealed secrets. */
  clusterKey: ClusterKey;
  /** HTTPS with this certificate (KOINE_TLS_CERT, KOINE_TLS_KEY), trusting KOINE_TLS_CA for cache nodes. */
  tls?: Tls | undefined;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Endpoints switched off (they answer 501), e.g. ["quota", "ttl"]. */
  disabled?: string[];
}

export const DEFAULT_PORT = 19999;

/** The admin API's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  KOINE_ADMIN_HOST: Setting.text("0.0.0.0", "Address the admin API listens on"),
  KOINE_ADMIN_PORT: Setting.port(DEFAULT_PORT, "Port of the admin API"),
  KOINE_ADMIN_DISABLED: Setting.list([], "Endpoints switched off (they answer 501), e.g. quota,ttl"),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): AlluxioAdminOptions {
  const s = readSettings(Settings, env);
  return {
    natsUrl: s.KOINE_NATS_URL,
    clusterKey: clusterKeyOf(s),
    tls: tlsOf(s),
    host: s.KOINE_ADMIN_HOST,
    port: s.KOINE_ADMIN_PORT,
    disabled: s.KOINE_ADMIN_DISABLED,
  };
}
