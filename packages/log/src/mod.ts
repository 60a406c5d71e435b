/**
 * Logs: one JSON line per event (pino), with the id of the request each line
 * belongs to, carried from a front-end through NATS to metadata, in queued
 * jobs to the job runner and over HTTP to the cache nodes.
 * @module
 */

export type { Logger } from "./logger.ts";
export { serviceLogger } from "./logger.ts";
export { requestIdFrom, requestIdNow, withRequestId } from "./request_id.ts";
