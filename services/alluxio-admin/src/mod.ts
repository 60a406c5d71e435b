/**
 * The admin API service: the Alluxio 3.x coordinator admin dialect
 * (`@koine/alluxio-admin-api`) on port 19999.
 * @module
 */

export type { AlluxioAdminOptions } from "./config.ts";
export { DEFAULT_PORT, parseConfig, Settings } from "./config.ts";
export type { AlluxioAdmin } from "./service.ts";
export { start } from "./service.ts";
