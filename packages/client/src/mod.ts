/**
 * The shared file-system client of every koine front-end: stat, list,
 * mkdir, write and read streams (with Alluxio's write and read types),
 * rename, delete, attributes, multipart, mounts.
 * @module
 */

export type { IndexedFile, JobNames, JobRequest, MetadataShardStatus } from "./cluster.ts";
export { Cluster } from "./cluster.ts";
export type { DataNode, LocalPages } from "./data_node.ts";
export { HttpDataNode, LocalPageFiles, NodeUnreachableError, PageFileNode, rangePages } from "./data_node.ts";
export type { FileSystemClientOptions, ReadType, SyncOptions, WriteType } from "./filesystem.ts";
export { DEFAULT_STAT_CACHE_MS, FileSystemClient, READ_TYPES, WRITE_TYPES } from "./filesystem.ts";
export { JobStore } from "./jobs.ts";
export { Membership } from "./membership.ts";
export { Policies } from "./policies.ts";
export { MetadataShards } from "./shards.ts";
