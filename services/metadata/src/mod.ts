/**
 * The metadata service: koine's namespace (an inode tree in LMDB) kept in
 * step with the under-stores, mount table, pins, TTLs and multipart
 * uploads, answered over NATS.
 * @module
 */

export type { MetadataOptions } from "./config.ts";
export { DEFAULT_SYNC_INTERVAL_MS, DEFAULT_TTL_CHECK_MS, parseConfig, Settings } from "./config.ts";
export type { MetadataService } from "./service.ts";
export { start } from "./service.ts";
