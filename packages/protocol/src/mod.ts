/**
 * The single source of truth for what koine services say to each other:
 * subjects, message schemas (compiled once) and stable error codes.
 * @module
 */

export type { BlockTarget, ConcatRequest, ReadRange, WriteTarget } from "./data.ts";
export * as DataSchemas from "./data.ts";
export { MAX_FILE_BYTES } from "./data.ts";
export { ErrorCode, errorCodeOf, HTTP_STATUS, isErrorCode, KoineError, quotaExceeded } from "./errors.ts";
export type {
  FilterType,
  JobKind,
  JobOptions,
  JobRecord,
  JobState,
  LoadBlocksReply,
  Policy,
  PolicyKind,
  Priority,
  RangeLoaded,
} from "./jobs.ts";
export * as JobSchemas from "./jobs.ts";
export { archiveFormatOf, FILE_INDEX_BUCKET, JOBS_BUCKET, POLICIES_BUCKET } from "./jobs.ts";
export { bytesLocation, DEFAULT_BLOCK_SIZE, FOLDER_OBJECT, locate, namespaceName, objectLocation, ufsName } from "./mounts.ts";
export { canonicalPath, childPath, isWithin, joinPath, type ParsedPath, parentPath, parsePath } from "./paths.ts";
export { compilePattern, type PathPattern } from "./patterns.ts";
export { ROLE_PERMISSIONS, SERVICE_ROLES, type ServiceRole, type SubjectPermissions } from "./roles.ts";
export type { EventType, ReplyOf, RequestOf, Rpc } from "./rpc.ts";
export { describeInvalid, event, rpc } from "./rpc.ts";
export type {
  CacheStats,
  ChangedEvent,
  ChecksumType,
  CompletePlan,
  Credential,
  FileAttributes,
  FileInfo,
  Grant,
  KeyEntry,
  KeyVersion,
  ListKeysReply,
  ListVersionsReply,
  LoadMetadata,
  Member,
  MetadataReplica,
  Mount,
  ObjectLock,
  ObjectPart,
  Permission,
  PersistenceState,
  PersistJob,
  PinsChangedEvent,
  PublicAccessBlock,
  PutUserRequest,
  Retention,
  ServiceEntry,
  TtlAction,
  UfsLocation,
  Upload,
  UploadPart,
  User,
  Versioning,
  WriteCondition,
  WrittenData,
} from "./schemas.ts";
export * as Schemas from "./schemas.ts";
export { isObjectAt, lockOf, versionIdOf } from "./schemas.ts";
export {
  journalOf,
  MAX_METADATA_SHARDS,
  rendezvousOrder,
  replicaKey,
  shardEndpoint,
  shardOf,
  shardOfUpload,
  snapshotPrefix,
  uploadIdIn,
} from "./shards.ts";
export {
  cacheNode,
  Events,
  JOBS_CONSUMER,
  JOBS_STREAM,
  JOBS_SUBJECTS,
  JOURNAL_STREAM,
  JOURNAL_SUBJECT,
  Jobs,
  MEMBER_HEARTBEAT_MS,
  MEMBER_TTL_MS,
  MEMBERS_BUCKET,
  METADATA_LEASES,
  METADATA_REPLICA_TTL_MS,
  METADATA_SNAPSHOTS,
  Meta,
  SERVICE_DOWN_MS,
  SERVICE_FORGET_MS,
  SERVICE_HEARTBEAT_MS,
  SERVICES_BUCKET,
} from "./subjects.ts";
