import { type ClusterKey, clusterKeyOf } from "@koine/access";
import { readSettings, Setting, SHARED_SETTINGS, type Tls, tlsOf } from "@koine/config";
import { type OzoneAuthMode, parseOzoneGroups } from "@koine/ozone";
import { Type as T } from "@sinclair/typebox";

export interface OzoneGatewayOptions {
  natsUrl: string;
  /** Opens the users' sealed secrets. */
  clusterKey: ClusterKey;
  /** HTTPS with this certificate (KOINE_TLS_CERT, KOINE_TLS_KEY), trusting KOINE_TLS_CA for cache nodes. */
  tls?: Tls | undefined;
  host: string;
  /** The REST API's port (Ozone's datanode REST port); 0 picks a free one. */
  port: number;
  /** The Ozone-manager-style port answering `/serviceList` (0 picks a free one). */
  omPort: number;
  auth: OzoneAuthMode;
  admins: string[];
  groups: Map<string, string[]>;
  blockSize?: number;
}

export const DEFAULT_PORT = 9880;
export const DEFAULT_OM_PORT = 9874;

/** The Ozone gateway's settings. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  KOINE_OZONE_HOST: Setting.text("0.0.0.0", "Address the Ozone gateway listens on"),
  KOINE_OZONE_PORT: Setting.port(DEFAULT_PORT, "Port of the Ozone v1 REST API"),
  KOINE_OZONE_OM_PORT: Setting.port(
    DEFAULT_OM_PORT,
    "Port answering Ozone's /serviceList (as an Ozone manager's HTTP port) for client discovery",
  ),
  KOINE_OZONE_AUTH: Setting.text(
    "koine",
    'How "Authorization: OZONE <user>" is taken: "koine" (only OZONE alone, anonymous; users sign with a koine key, Basic or SigV4) or "simple" (the named user at its word, as Ozone; root, hdfs and KOINE_OZONE_ADMINS are admins)',
    "^(koine|simple)$",
  ),
  KOINE_OZONE_ADMINS: Setting.list([], "Ozone admins besides root and hdfs, in SIMPLE mode (comma-separated)"),
  KOINE_OZONE_GROUPS: Setting.text("", "Groups of SIMPLE-mode users, as Hadoop's static mapping: user=group,group;user=group"),
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env): OzoneGatewayOptions {
  const s = readSettings(Settings, env);
  return {
    natsUrl: s.KOINE_NATS_URL,
    clusterKey: clusterKeyOf(s),
    tls: tlsOf(s),
    host: s.KOINE_OZONE_HOST,
    port: s.KOINE_OZONE_PORT,
    omPort: s.KOINE_OZONE_OM_PORT,
    auth: s.KOINE_OZONE_AUTH as OzoneAuthMode,
    admins: s.KOINE_OZONE_ADMINS,
    groups: parseOzoneGroups(s.KOINE_OZONE_GROUPS),
  };
}
