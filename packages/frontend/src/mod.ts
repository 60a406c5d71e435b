/**
 * The host every koine front-end runs in: a fastify server over the shared
 * file-system client and a NATS connection, stopped gracefully; and the S3
 * users (seeded from the environment, kept current from metadata) for the
 * dialects that check signatures.
 * @module
 */

export type { FrontEnd, FrontEndOptions } from "./front_end.ts";
export { startFrontEnd } from "./front_end.ts";
export type { Readiness } from "./health.ts";
export { opsRoutes, readiness } from "./health.ts";
export { type HttpHostOptions, httpHost, registerDialect } from "./host.ts";
export { type OpsHost, startOpsHost } from "./ops_host.ts";
export { DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, describeCredentials, parseUsers, USER_SETTINGS } from "./settings.ts";
export { UserDirectory } from "./users.ts";
