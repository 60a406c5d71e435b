/**
 * The S3 gateway: the S3 dialect (`@koine/s3`) served on its own port.
 * @module
 */

export type { S3GatewayOptions } from "./config.ts";
export { DEFAULT_PORT, parseConfig, Settings } from "./config.ts";
export type { S3Gateway, S3GatewayPlacement } from "./service.ts";
export { start } from "./service.ts";
