/**
 * The AIStore dialect as a fastify plugin: buckets, objects, health, the
 * cluster map and AuthN's login, over the shared file-system client and
 * the one permission model.
 * @module
 */
export { AisError, sendAisError, toAisError } from "./errors.ts";
export { type AisPluginOptions, aisPlugin } from "./plugin.ts";
