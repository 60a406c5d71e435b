/**
 * The cache: pages of file contents on local disk (and the hottest in
 * memory), read through from and written through to the under-stores, the
 * HTTP data endpoint that serves them, and their metrics. The cache-node
 * service composes them.
 * @module
 */

export { DataEngine } from "./data_engine.ts";
export { buildHttp } from "./http.ts";
export { MemberHeartbeat } from "./membership.ts";
export { reportMetrics } from "./metrics.ts";
export {
  type CacheNode,
  type CacheNodeOptions,
  DEFAULT_CAPACITY_BYTES,
  DEFAULT_MEMORY_BYTES,
  DEFAULT_PAGE_SIZE,
  DEFAULT_POLICY_CHECK_MS,
  DEFAULT_PORT,
  startCacheNode,
} from "./node.ts";
export { PageStore } from "./page_store.ts";
