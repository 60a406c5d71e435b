import { type ClusterKey, clusterKeyOf } from "@koine/access";
import { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CLIENT, DEFAULT_STREAM_IDLE_MS, type StreamLimits } from "@koine/alluxio";
import { readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import { type AuthMode, DOMAIN_SETTINGS } from "@koine/s3";
import { Type as T } from "@sinclair/typebox";

export interface AlluxioProxyOptions {
  natsUrl: string;
  /** Opens the users' sealed secrets. */
  clusterKey: ClusterKey;
  /** HTTPS with this certificate (KOINE_TLS_CERT, KOINE_TLS_KEY), trusting KOINE_TLS_CA for cache nodes. */
  tls?: Tls | undefined;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  virtualHostDomains?: string[];
  blockSize?: number;
  /** How long idle streams live, and how many may be open in all and per client. */
  streams?: StreamLimits;
  /** "simple": a user the client names is taken at its word, as Alluxio's SIMPLE authentication (never an admin). */
  authMode: AuthMode;
}

export const DEFAULT_PORT = 39999;

/** The Alluxio proxy's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  ...DOMAIN_SETTINGS,
  KOINE_ALLUXIO_HOST: Setting.text("0.0.0.0", "Address the Alluxio proxy listens on"),
  KOINE_ALLUXIO_PORT: Setting.port(DEFAULT_PORT, "Port of the Alluxio proxy"),
  KOINE_ALLUXIO_STREAM_IDLE: Setting.duration(DEFAULT_STREAM_IDLE_MS, "Idle streams are dropped after this long"),
  KOINE_ALLUXIO_MAX_STREAMS: Setting.count(DEFAULT_MAX_STREAMS, "Streams open at once, in all"),
  KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT: Setting.count(DEFAULT_MAX_STREAMS_PER_CLIENT, "Streams open at once, per client address"),
  KOINE_ALLUXIO_AUTH: Setting.text(
    "koine",
    'How the paths and streams API takes its callers: "koine" (Basic or SigV4 with a koine key) or "simple" (also a user the client names, unchecked)',
    "^(koine|simple)$",
  ),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): AlluxioProxyOptions {
  const s = readSettings(Settings, env);
  return {
    natsUrl: s.KOINE_NATS_URL,
    host: s.KOINE_ALLUXIO_HOST,
    port: s.KOINE_ALLUXIO_PORT,
    clusterKey: clusterKeyOf(s),
    tls: tlsOf(s),
    virtualHostDomains: s.KOINE_S3_DOMAINS,
    authMode: s.KOINE_ALLUXIO_AUTH as AuthMode,
    streams: {
      idleMs: s.KOINE_ALLUXIO_STREAM_IDLE,
      maxStreams: s.KOINE_ALLUXIO_MAX_STREAMS,
      maxStreamsPerClient: s.KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT,
    },
  };
}
