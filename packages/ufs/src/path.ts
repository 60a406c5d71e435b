import { UfsError } from "./errors.ts";

/**
 * Splits a store-relative path into its segments, refusing anything that
 * could name a place outside the store: "..", ".", empty segments, NUL.
 */
export function safeSegments(path: string): string[] {
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === "") return [];
  const segments = trimmed.split("/");
  for (const s of segments) {
    if (s === "" || s === "." || s === ".." || s.includes("\0") || s.includes("\\")) {
      throw new UfsError("INVALID_ARGUMENT", `Cannot use path "${path}": it has an empty, "." or ".." segment`);
    }
  }
  return segments;
}
