/**
 * Under-file-systems: the stores of record below koine's cache. One
 * interface; a local-directory implementation that no path can leave.
 * @module
 */

export type { UfsErrorCode } from "./errors.ts";
export { UfsError } from "./errors.ts";
export { LocalUfs, TEMP_PREFIX } from "./local.ts";
export { canonicalUri, openUfs } from "./open.ts";
export { pathSegments } from "./path.ts";
export { ReadOnlyUfs } from "./read_only.ts";
export { UfsRegistry } from "./registry.ts";
export { S3Ufs, type S3UfsOptions, s3OptionsFrom } from "./s3.ts";
export { Turns } from "./turns.ts";
export type { OwnEntry, Published, PublishTurn, StagedWrite, UfsEntry, UfsStatus, UnderFileSystem } from "./ufs.ts";
export { UPLOADS_DIR, VERSIONS_DIR } from "./ufs.ts";
