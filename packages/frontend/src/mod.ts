/**
 * The host every koine front-end runs in: a fastify server over the shared
 * file-system client and a NATS connection, stopped gracefully; and the
 * users (kept current from metadata, secrets unsealed with the cluster key)
 * every dialect authenticates against.
 * @module
 */

export { jsonBodies, streamedBodies } from "./bodies.ts";
export type { FrontEnd, FrontEndDeps, FrontEndOptions } from "./front_end.ts";
export { startFrontEnd } from "./front_end.ts";
export type { Readiness } from "./health.ts";
export { opsRoutes, readiness } from "./health.ts";
export { type HttpHostOptions, httpHost, registerDialect, schemeOf } from "./host.ts";
export { type OpsHost, startOpsHost } from "./ops_host.ts";
export { UserDirectory } from "./users.ts";
export { type FrontEndWorkers, serveAsWorker } from "./workers.ts";
