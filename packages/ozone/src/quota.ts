import { OzoneError } from "./errors.ts";

const UNITS = [
  ["TB", 2 ** 40],
  ["GB", 2 ** 30],
  ["MB", 2 ** 20],
  ["BYTES", 1],
] as const;

/** A volume's quota when none is set: Ozone's MAX_QUOTA_IN_BYTES, 1024 × 1024 TB. */
export const MAX_QUOTA_BYTES = 1024 * 1024 * 2 ** 40;

/**
 * `?quota=` as Ozone reads it (`OzoneQuota.parseQuota`): upper-cased,
 * whitespace removed, an int32 count of BYTES, MB, GB or TB (binary
 * units); `remove` is not a quota. The bytes, or 400 malformedQuota with
 * Ozone's words.
 */
export function parseQuota(text: string): number {
  if (text === "") throw new OzoneError("MALFORMED_QUOTA", "Quota string cannot be null or empty.");
  const value = text.toUpperCase().replace(/\s+/g, "");
  if (value === "REMOVE") throw new OzoneError("MALFORMED_QUOTA", "Remove is invalid in this context.");
  const unit = UNITS.find(([name]) => value.endsWith(name));
  if (!unit) throw new OzoneError("MALFORMED_QUOTA", "Quota unit not recognized. Supported values are BYTES, MB, GB and TB.");
  const number = value.slice(0, value.length - unit[0].length);
  if (!/^[+-]?\d+$/.test(number) || Math.abs(Number(number)) > 2 ** 31 - 1) {
    throw new OzoneError("MALFORMED_QUOTA", `For input string: "${number}"`);
  }
  const size = Number(number);
  if (size < 0) throw new OzoneError("MALFORMED_QUOTA", "Quota cannot be negative.");
  return size * unit[1];
}

/** A quota as Ozone shows it (`OzoneQuota.getOzoneQuota`): the largest unit that divides it exactly. */
export function quotaOf(bytes: number): { unit: string; size: number } {
  if (bytes === 0) return { unit: "TB", size: 0 };
  for (const [unit, factor] of UNITS) if (bytes % factor === 0) return { unit, size: bytes / factor };
  return { unit: "BYTES", size: bytes };
}
