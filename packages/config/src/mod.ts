/**
 * Settings: each service's KOINE_* variables as a TypeBox schema (ports,
 * sizes, durations, counts, texts, lists, each with its default), read with
 * one-line errors; the list of every known setting; and the start-up every
 * service's main.ts runs.
 * @module
 */
export { runService } from "./run.ts";
export {
  KNOWN_SETTINGS,
  MOUNT_ROOTS_SETTING,
  mountRootsOf,
  portSettingOf,
  readSettings,
  Setting,
  SHARED_SETTINGS,
  unknownSettings,
} from "./schema.ts";
export { DEFAULT_NATS_URL, parseDuration, parseSize } from "./settings.ts";
export { type Tls, tlsOf } from "./tls.ts";
