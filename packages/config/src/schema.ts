import { join, resolve } from "node:path";
import { type Static, Type as T, type TObject, type TProperties, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { closest } from "fastest-levenshtein";
import { DEFAULT_NATS_URL, parseDuration, parseSize } from "./settings.ts";

/** How a setting's text becomes its value. */
type Kind = "port" | "size" | "duration" | "count" | "text" | "list";

const KIND = "koineKind";

/**
 * Every KOINE_* variable any koine service, script or the launcher reads:
 * what the unknown-setting warning compares with (test/config.test.ts
 * checks that the services' schemas and this list agree).
 */
export const KNOWN_SETTINGS = [
  "KOINE_ACCESS_KEY",
  "KOINE_ADMIN_DISABLED",
  "KOINE_ADMIN_HOST",
  "KOINE_ADMIN_PORT",
  "KOINE_ADMIN_URL",
  "KOINE_ADVERTISE_HOST",
  "KOINE_AIS_HOST",
  "KOINE_AIS_PORT",
  "KOINE_AIS_TARGET_PORT",
  "KOINE_CONSOLE_HOST",
  "KOINE_CONSOLE_PORT",
  "KOINE_OZONE_HOST",
  "KOINE_OZONE_PORT",
  "KOINE_OZONE_OM_PORT",
  "KOINE_OZONE_AUTH",
  "KOINE_OZONE_ADMINS",
  "KOINE_OZONE_GROUPS",
  "KOINE_ALLUXIO_AUTH",
  "KOINE_ALLUXIO_HOST",
  "KOINE_ALLUXIO_MAX_STREAMS",
  "KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT",
  "KOINE_ALLUXIO_PORT",
  "KOINE_ALLUXIO_STREAM_IDLE",
  "KOINE_BIND_HOST",
  "KOINE_CACHE_CAPACITY",
  "KOINE_CACHE_DIR",
  "KOINE_CACHE_HOST",
  "KOINE_CACHE_MEMORY",
  "KOINE_CACHE_NODES",
  "KOINE_CACHE_PORT",
  "KOINE_CLUSTER_KEY",
  "KOINE_HOME",
  "KOINE_HOSTS_NETWORK",
  "KOINE_HOSTS_SUBNET",
  "KOINE_JOB_RUNNER_HOST",
  "KOINE_JOB_RUNNER_PORT",
  "KOINE_LOG_LEVEL",
  "KOINE_METADATA_HOST",
  "KOINE_METADATA_PORT",
  "KOINE_METADATA_CRASH",
  "KOINE_METADATA_DIR",
  "KOINE_METADATA_SNAPSHOT_EVERY",
  "KOINE_METADATA_SHARDS",
  "KOINE_MOUNT_ROOTS",
  "KOINE_NATS_PORT",
  "KOINE_NATS_URL",
  "KOINE_NODE_ID",
  "KOINE_PAGE_SIZE",
  "KOINE_POLICY_CHECK_INTERVAL",
  "KOINE_REGION",
  "KOINE_ROOT_UFS",
  "KOINE_S3_DOMAINS",
  "KOINE_S3_HOST",
  "KOINE_S3_PORT",
  "KOINE_S3_WORKERS",
  "KOINE_S3_USERS",
  "KOINE_SECRET_KEY",
  "KOINE_SWEEP_GRACE",
  "KOINE_SWEEP_INTERVAL",
  "KOINE_TLS_CA",
  "KOINE_TLS_CERT",
  "KOINE_TLS_KEY",
  "KOINE_TTL_CHECK_INTERVAL",
  "KOINE_UFS_SYNC_INTERVAL",
] as const;

function kinded<S extends TSchema>(kind: Kind, schema: S): S {
  return Object.assign(schema, { [KIND]: kind });
}

/** The kinds of setting a schema is built from, each with its default and what it is for. */
export const Setting = {
  port: (fallback: number, description: string) =>
    kinded("port", T.Integer({ minimum: 0, maximum: 65535, default: fallback, description, examples: ["0 (a free one)", "9000"] })),
  size: (fallback: number, description: string) =>
    kinded("size", T.Integer({ minimum: 0, default: fallback, description, examples: ["8GiB"] })),
  duration: (fallback: number, description: string) =>
    kinded("duration", T.Integer({ minimum: -1, default: fallback, description, examples: ["30s", "5min", "-1"] })),
  count: (fallback: number, description: string, maximum = Number.MAX_SAFE_INTEGER) =>
    kinded("count", T.Integer({ minimum: 1, maximum, default: fallback, description })),
  text: (fallback: string, description: string, pattern?: string) =>
    kinded("text", T.String({ default: fallback, description, ...(pattern ? { pattern } : {}) })),
  /** A text with no default: the service derives one (from KOINE_HOME, the host name, ...). */
  optionalText: (description: string, pattern?: string) =>
    T.Optional(kinded("text", T.String({ description, ...(pattern ? { pattern } : {}) }))),
  /** Comma-separated names. */
  list: (fallback: string[], description: string) => kinded("list", T.Array(T.String(), { default: fallback, description })),
};

/** What a setting of this schema must look like, for the one-line error. */
function expected(schema: TSchema & { [KIND]?: Kind }): string {
  switch (schema[KIND]) {
    case "port":
      return "a port number";
    case "size":
      return "a size such as 8GiB";
    case "duration":
      return "a duration such as 30s, 5min or -1";
    case "count":
      return schema.maximum < Number.MAX_SAFE_INTEGER ? `a whole number from 1 to ${schema.maximum}` : "a whole number of at least 1";
    case "list":
      return "a comma-separated list";
    default:
      return schema.pattern ? `text matching ${schema.pattern}` : "text";
  }
}

function convert(name: string, schema: TSchema & { [KIND]?: Kind }, text: string): unknown {
  switch (schema[KIND]) {
    case "size":
      return parseSize(text, name);
    case "duration":
      return parseDuration(text, name);
    case "port":
    case "count":
      return /^\d{1,16}$/.test(text.trim()) ? Number(text) : text;
    case "list":
      return text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return text;
  }
}

/**
 * The settings of `schema` (properties named by their KOINE_* variable)
 * from the environment: each variable parsed by its kind, absent ones at
 * their default. A bad value throws one line naming the setting.
 */
export function readSettings<P extends TProperties>(schema: TObject<P>, env: NodeJS.ProcessEnv = process.env): Static<TObject<P>> {
  const out: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties)) {
    const text = env[name];
    if (text === undefined) {
      if (property.default !== undefined) out[name] = structuredClone(property.default);
      continue;
    }
    const value = convert(name, property, text);
    if (!Value.Check(property, value)) throw new Error(`${name} must be ${expected(property)}, not "${text}"`);
    out[name] = value;
  }
  return out as Static<TObject<P>>;
}

/** The KOINE_* variables of `env` that no koine program reads, each with the known one closest to it. */
export function unknownSettings(env: NodeJS.ProcessEnv = process.env): { name: string; closest: string }[] {
  const known = new Set<string>(KNOWN_SETTINGS);
  return Object.keys(env)
    .filter((name) => name.startsWith("KOINE_") && !known.has(name))
    .sort()
    .map((name) => ({ name, closest: closest(name, [...KNOWN_SETTINGS]) }));
}

/** Settings every service reads. */
export const SHARED_SETTINGS = {
  KOINE_NATS_URL: Setting.text(DEFAULT_NATS_URL, "NATS server URL(s), comma-separated"),
  KOINE_HOME: Setting.text(".koine", "Directory of koine's data (LMDB, pages, the default under-store)"),
  KOINE_CLUSTER_KEY: Setting.optionalText(
    "The key every service of the cluster shares, 64 hex digits (default: <KOINE_HOME>/cluster.key, made at first start)",
  ),
  KOINE_TLS_CERT: Setting.optionalText("Certificate (PEM file) every HTTP endpoint of the service serves TLS with; unset: plain HTTP"),
  KOINE_TLS_KEY: Setting.optionalText("Its private key (PEM file)"),
  KOINE_TLS_CA: Setting.optionalText("CA certificates (PEM file) trusted for calls to other koine services (default: the system's)"),
};

/** Where admins may bring local files in from: local mounts (metadata), AIS promote (cache nodes). */
export const MOUNT_ROOTS_SETTING = {
  KOINE_MOUNT_ROOTS: Setting.list(
    [],
    "Directories below which admins may bring in local files: mounts of local directories, AIS promote (default: <KOINE_HOME>/mounts)",
  ),
};

/** The mount roots a service's settings name, resolved; by default `<home>/mounts`. */
export function mountRootsOf(s: { KOINE_MOUNT_ROOTS: string[] }, home: string): string[] {
  return s.KOINE_MOUNT_ROOTS.length > 0 ? s.KOINE_MOUNT_ROOTS.map((r) => resolve(r)) : [join(home, "mounts")];
}

/** The port setting of `schema` whose value (set or default) is `port`, or the one just below it (cache nodes take port + i). */
export function portSettingOf(schema: TObject, port: number, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let settings: Record<string, unknown>;
  try {
    settings = readSettings(schema, env);
  } catch {
    return undefined;
  }
  const ports = Object.entries(schema.properties)
    .filter(([, p]) => (p as { [KIND]?: Kind })[KIND] === "port")
    .map(([name]) => ({ name, value: settings[name] as number }))
    .filter((p) => p.value > 0 && p.value <= port && port - p.value < 64)
    .sort((a, b) => b.value - a.value);
  return ports[0]?.name;
}
