/**
 * The AIS gateway: the AIStore dialect (`@koine/ais`) served on its own port.
 * @module
 */

export type { AisGatewayOptions } from "./config.ts";
export { DEFAULT_PORT, parseConfig, Settings } from "./config.ts";
export type { AisGateway } from "./service.ts";
export { start } from "./service.ts";
