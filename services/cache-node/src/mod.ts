/**
 * The cache node: pages of file contents on local disk, read through from
 * and written through to the under-store, served over HTTP.
 * @module
 */

export type { CacheNodeOptions } from "./config.ts";
export {
  DEFAULT_CAPACITY_BYTES,
  DEFAULT_MEMORY_BYTES,
  DEFAULT_PAGE_SIZE,
  DEFAULT_POLICY_CHECK_MS,
  DEFAULT_PORT,
  parseConfig,
  Settings,
} from "./config.ts";
export type { CacheNode } from "./service.ts";
export { start } from "./service.ts";
