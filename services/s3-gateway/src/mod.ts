/**
 * The S3 dialect: a fastify plugin (path-style, SigV4, aws-chunked bodies)
 * and a service that serves it on its own port.
 * @module
 */

export type { S3GatewayOptions } from "./config.ts";
export { DEFAULT_ACCESS_KEY, DEFAULT_PORT, DEFAULT_SECRET_KEY, parseConfig, parseDomains, parseUsers } from "./config.ts";
export type { FrontEnd, FrontEndOptions } from "./front_end.ts";
export { startFrontEnd } from "./front_end.ts";
export type { S3PluginOptions } from "./plugin.ts";
export {
  DEFAULT_BODY_IDLE_TIMEOUT_MS,
  DEFAULT_REGION,
  DEFAULT_VIRTUAL_HOST_DOMAINS,
  s3ClientErrorHandler,
  s3Plugin,
  virtualHostBucket,
} from "./plugin.ts";
export type { S3Gateway } from "./service.ts";
export { start } from "./service.ts";
export { UserDirectory } from "./users.ts";
