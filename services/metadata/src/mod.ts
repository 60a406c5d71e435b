/**
 * The metadata service: koine's namespace (an inode tree in LMDB), mount
 * table and multipart uploads, answered over NATS.
 * @module
 */

export type { MetadataOptions } from "./config.ts";
export { parseConfig } from "./config.ts";
export type { MetadataService } from "./service.ts";
export { start } from "./service.ts";
