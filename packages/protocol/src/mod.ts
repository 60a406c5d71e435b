/**
 * The single source of truth for what koine services say to each other:
 * subjects, message schemas (compiled once) and stable error codes.
 * @module
 */
export { ErrorCode, KoineError, errorCodeOf, isErrorCode } from "./errors.ts";
export { describeInvalid, event, rpc } from "./rpc.ts";
export type { EventType, ReplyOf, RequestOf, Rpc } from "./rpc.ts";
export {
  cacheNode,
  Events,
  Meta,
  MEMBER_HEARTBEAT_MS,
  MEMBER_TTL_MS,
  MEMBERS_BUCKET,
  JOBS_CONSUMER,
  JOBS_STREAM,
  JOBS_SUBJECTS,
} from "./subjects.ts";
export * as Schemas from "./schemas.ts";
export type {
  CacheStats,
  ChangedEvent,
  CompletePlan,
  FileAttributes,
  FileInfo,
  KeyEntry,
  ListKeysReply,
  Member,
  Mount,
  UfsLocation,
  Upload,
  UploadPart,
  WrittenData,
} from "./schemas.ts";
export * as DataSchemas from "./data.ts";
export type { ConcatRequest, ReadRange, WriteTarget } from "./data.ts";
export { locate } from "./mounts.ts";
