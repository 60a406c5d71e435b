/**
 * The shared file-system client of every koine front-end: stat, list,
 * mkdir, write and read streams, rename, delete, attributes, multipart.
 * @module
 */

export type { DataNode } from "./data_node.ts";
export { HttpDataNode, NodeUnreachableError } from "./data_node.ts";
export type { FileSystemClientOptions } from "./filesystem.ts";
export { DEFAULT_STAT_CACHE_MS, FileSystemClient } from "./filesystem.ts";
export { Membership } from "./membership.ts";
