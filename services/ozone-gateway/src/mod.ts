/**
 * The Ozone gateway: the Apache Ozone v1 REST dialect (`@koine/ozone`)
 * served on its own port, with Ozone's `/serviceList` discovery beside it.
 * @module
 */

export type { OzoneGatewayOptions } from "./config.ts";
export { DEFAULT_OM_PORT, DEFAULT_PORT, parseConfig, Settings } from "./config.ts";
export type { OzoneGateway } from "./service.ts";
export { start } from "./service.ts";
