/**
 * The metadata service: koine's namespace (an inode tree in LMDB), mount
 * table and multipart uploads, answered over NATS.
 * @module
 */
export { DEFAULT_NATS_URL, parseConfig } from "./config.ts";
export type { MetadataOptions } from "./config.ts";
export { start } from "./service.ts";
export type { MetadataService } from "./service.ts";
