/**
 * The web console service (port 19990): the app of `@koine/console-app` with
 * the admin API and S3 on the same origin.
 * @module
 */

export type { ConsoleOptions } from "./config.ts";
export { DEFAULT_PORT, parseConfig, Settings } from "./config.ts";
export type { ConsoleService } from "./service.ts";
export { start } from "./service.ts";
