import { type ClusterKey, clusterKeyOf } from "@koine/access";
import { readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import { Type as T } from "@sinclair/typebox";

export interface AisGatewayOptions {
  natsUrl: string;
  /** Opens the users' sealed secrets and signs bearer tokens. */
  clusterKey: ClusterKey;
  /** HTTPS with this certificate (KOINE_TLS_CERT, KOINE_TLS_KEY), trusting KOINE_TLS_CA for cache nodes. */
  tls?: Tls | undefined;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  blockSize?: number;
}

export const DEFAULT_PORT = 8080;

/** The AIS gateway's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  KOINE_AIS_HOST: Setting.text("0.0.0.0", "Address the AIS gateway listens on"),
  KOINE_AIS_PORT: Setting.port(DEFAULT_PORT, "Port of the AIS gateway"),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): AisGatewayOptions {
  const s = readSettings(Settings, env);
  return { natsUrl: s.KOINE_NATS_URL, clusterKey: clusterKeyOf(s), tls: tlsOf(s), host: s.KOINE_AIS_HOST, port: s.KOINE_AIS_PORT };
}
