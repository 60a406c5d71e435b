import { startCacheNode } from "@koine/cache";

export type { CacheNode } from "@koine/cache";

/**
 * Starts a cache node (`@koine/cache`): its page store behind the HTTP data
 * endpoint with /healthz, /readyz and /metrics, NATS control, and its
 * heartbeat in the cluster's membership.
 */
export const start = startCacheNode;
