/** The NATS server a service connects to when KOINE_NATS_URL does not say. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};

/** Parses sizes like "512MiB", "8GiB", "1048576"; `setting` names the setting in the error. */
export function parseSize(text: string, setting: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)$/i.exec(text.trim());
  if (!m) throw new Error(`${setting} must be a size such as 8GiB, not "${text}"`);
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
}

const DURATION_UNITS: Record<string, number> = {
  "": 1,
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/** Parses durations as Alluxio writes them ("500ms", "1s", "5min", "1h", plain ms, "-1" for never) into ms. */
export function parseDuration(text: string, setting: string): number {
  const m = /^(-1|\d+(?:\.\d+)?)\s*(|ms|s|sec|m|min|h|hour|d|day)$/i.exec(text.trim());
  if (!m) throw new Error(`${setting} must be a duration such as 30s, 5min or -1, not "${text}"`);
  if (m[1] === "-1") return -1;
  return Math.floor(Number(m[1]) * (DURATION_UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
}
