import { resolve } from "node:path";
import { clusterKeyOf } from "@koine/access";
import * as ais from "@koine/ais-gateway";
import * as admin from "@koine/alluxio-admin";
import * as alluxio from "@koine/alluxio-proxy";
import * as cacheNode from "@koine/cache-node";
import { mountRootsOf, readSettings, Setting, SHARED_SETTINGS, tlsOf } from "@koine/config";
import * as consoleService from "@koine/console";
import * as metadata from "@koine/metadata";
import { parseUsers, USER_SETTINGS } from "@koine/namespace";
import { type OzoneAuthMode, parseOzoneGroups } from "@koine/ozone";
import * as ozone from "@koine/ozone-gateway";
import { type AuthMode, DOMAIN_SETTINGS } from "@koine/s3";
import * as s3 from "@koine/s3-gateway";
import { Type as T } from "@sinclair/typebox";
import type { LocalClusterOptions } from "./local_cluster.ts";

const { KOINE_UFS_SYNC_INTERVAL, KOINE_TTL_CHECK_INTERVAL, KOINE_SWEEP_INTERVAL, KOINE_SWEEP_GRACE, KOINE_MOUNT_ROOTS } =
  metadata.Settings.properties;
const { KOINE_CACHE_CAPACITY, KOINE_CACHE_MEMORY } = cacheNode.Settings.properties;
const {
  KOINE_ALLUXIO_PORT,
  KOINE_ALLUXIO_STREAM_IDLE,
  KOINE_ALLUXIO_MAX_STREAMS,
  KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT,
  KOINE_ALLUXIO_AUTH,
} = alluxio.Settings.properties;
const { KOINE_ADMIN_PORT, KOINE_ADMIN_DISABLED } = admin.Settings.properties;

/** The all-in-one cluster's settings (`npm run up`): the services' own, and the few that only running them together has. */
export const Settings = T.Object({
  ...SHARED_SETTINGS,
  ...USER_SETTINGS,
  ...DOMAIN_SETTINGS,
  KOINE_NATS_URL: Setting.optionalText("NATS server URL(s) to use; unset: a nats-server is started on KOINE_NATS_PORT"),
  KOINE_NATS_PORT: Setting.port(4222, "Port of the nats-server started when KOINE_NATS_URL is unset"),
  KOINE_BIND_HOST: Setting.text(
    "127.0.0.1",
    "Address the S3 gateway, the Alluxio proxy, the admin API and the cache nodes listen on (0.0.0.0: every interface)",
  ),
  KOINE_S3_PORT: s3.Settings.properties.KOINE_S3_PORT,
  KOINE_S3_WORKERS: s3.Settings.properties.KOINE_S3_WORKERS,
  KOINE_ALLUXIO_PORT,
  KOINE_ADMIN_PORT,
  KOINE_CONSOLE_PORT: consoleService.Settings.properties.KOINE_CONSOLE_PORT,
  KOINE_AIS_PORT: ais.Settings.properties.KOINE_AIS_PORT,
  KOINE_OZONE_PORT: ozone.Settings.properties.KOINE_OZONE_PORT,
  KOINE_OZONE_OM_PORT: ozone.Settings.properties.KOINE_OZONE_OM_PORT,
  KOINE_OZONE_AUTH: ozone.Settings.properties.KOINE_OZONE_AUTH,
  KOINE_OZONE_ADMINS: ozone.Settings.properties.KOINE_OZONE_ADMINS,
  KOINE_OZONE_GROUPS: ozone.Settings.properties.KOINE_OZONE_GROUPS,
  KOINE_CACHE_PORT: Setting.port(cacheNode.DEFAULT_PORT, "Data port of the first cache node (the next ones take the next ports)"),
  KOINE_CACHE_NODES: Setting.count(1, "Cache nodes", 64),
  KOINE_CACHE_CAPACITY,
  KOINE_CACHE_MEMORY,
  KOINE_UFS_SYNC_INTERVAL,
  KOINE_TTL_CHECK_INTERVAL,
  KOINE_SWEEP_INTERVAL,
  KOINE_SWEEP_GRACE,
  KOINE_MOUNT_ROOTS,
  KOINE_ALLUXIO_STREAM_IDLE,
  KOINE_ALLUXIO_MAX_STREAMS,
  KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT,
  KOINE_ALLUXIO_AUTH,
  KOINE_ADMIN_DISABLED,
});

/** Options of the all-in-one cluster from the environment ({@link Settings}). */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): LocalClusterOptions {
  const s = readSettings(Settings, env);
  const tls = tlsOf(s);
  return {
    home: resolve(s.KOINE_HOME),
    ...(s.KOINE_CLUSTER_KEY ? { clusterKey: clusterKeyOf(s) } : {}),
    ...(tls ? { tls } : {}),
    ...(s.KOINE_NATS_URL ? { natsUrl: s.KOINE_NATS_URL } : {}),
    natsPort: s.KOINE_NATS_PORT,
    s3Port: s.KOINE_S3_PORT,
    s3Workers: s.KOINE_S3_WORKERS,
    bindHost: s.KOINE_BIND_HOST,
    alluxioPort: s.KOINE_ALLUXIO_PORT,
    adminPort: s.KOINE_ADMIN_PORT,
    consolePort: s.KOINE_CONSOLE_PORT,
    aisPort: s.KOINE_AIS_PORT,
    ozonePort: s.KOINE_OZONE_PORT,
    ozoneOmPort: s.KOINE_OZONE_OM_PORT,
    ozone: { auth: s.KOINE_OZONE_AUTH as OzoneAuthMode, admins: s.KOINE_OZONE_ADMINS, groups: parseOzoneGroups(s.KOINE_OZONE_GROUPS) },
    cachePort: s.KOINE_CACHE_PORT,
    cacheNodes: s.KOINE_CACHE_NODES,
    cacheCapacityBytes: s.KOINE_CACHE_CAPACITY,
    cacheMemoryBytes: s.KOINE_CACHE_MEMORY,
    users: parseUsers(env),
    mountRoots: mountRootsOf(s, resolve(s.KOINE_HOME)),
    alluxioAuth: s.KOINE_ALLUXIO_AUTH as AuthMode,
    s3Domains: s.KOINE_S3_DOMAINS,
    syncIntervalMs: s.KOINE_UFS_SYNC_INTERVAL,
    ttlCheckMs: s.KOINE_TTL_CHECK_INTERVAL,
    sweep: { intervalMs: s.KOINE_SWEEP_INTERVAL, graceMs: s.KOINE_SWEEP_GRACE },
    alluxioStreams: {
      idleMs: s.KOINE_ALLUXIO_STREAM_IDLE,
      maxStreams: s.KOINE_ALLUXIO_MAX_STREAMS,
      maxStreamsPerClient: s.KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT,
    },
    adminDisabled: s.KOINE_ADMIN_DISABLED,
  };
}
