import { type ClusterKey, clusterKeyOf } from "@koine/access";
import { readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import { Type as T } from "@sinclair/typebox";

export interface ConsoleOptions {
  natsUrl: string;
  /** Opens the users' sealed secrets. */
  clusterKey: ClusterKey;
  /** HTTPS with this certificate (KOINE_TLS_CERT, KOINE_TLS_KEY), trusting KOINE_TLS_CA for cache nodes. */
  tls?: Tls | undefined;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
}

export const DEFAULT_PORT = 19990;

/** The console's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  KOINE_CONSOLE_HOST: Setting.text("0.0.0.0", "Address the web console listens on"),
  KOINE_CONSOLE_PORT: Setting.port(DEFAULT_PORT, "Port of the web console"),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): ConsoleOptions {
  const s = readSettings(Settings, env);
  return { natsUrl: s.KOINE_NATS_URL, clusterKey: clusterKeyOf(s), tls: tlsOf(s), host: s.KOINE_CONSOLE_HOST, port: s.KOINE_CONSOLE_PORT };
}
