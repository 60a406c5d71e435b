import { type Static, Type as T } from "@sinclair/typebox";

/** Where a file's bytes live in its under-store, relative to the mount root. */
export const UfsLocation = T.Object({
  mountId: T.String(),
  path: T.String(),
});
export type UfsLocation = Static<typeof UfsLocation>;

export const PersistenceState = T.Union([T.Literal("PERSISTED"), T.Literal("NOT_PERSISTED"), T.Literal("TO_BE_PERSISTED")]);
export type PersistenceState = Static<typeof PersistenceState>;

export const TtlAction = T.Union([T.Literal("DELETE"), T.Literal("FREE")]);
export type TtlAction = Static<typeof TtlAction>;

/** What an ACL grant allows, as S3 names it (FULL_CONTROL: all four). */
export const Permission = T.Union([
  T.Literal("READ"),
  T.Literal("WRITE"),
  T.Literal("READ_ACP"),
  T.Literal("WRITE_ACP"),
  T.Literal("FULL_CONTROL"),
]);
export type Permission = Static<typeof Permission>;

/**
 * One ACL entry: a grantee ("AllUsers", "AuthenticatedUsers", "user:<access
 * key>" or "group:<name>") and what it may do.
 */
export const Grant = T.Object({
  grantee: T.String({ pattern: "^(AllUsers|AuthenticatedUsers|user:[^\\s]+|group:[^\\s]+)$" }),
  permission: Permission,
  /** On a directory: the grant holds on everything below it too (Ozone's bucket ACLs). */
  recursive: T.Optional(T.Boolean()),
});
export type Grant = Static<typeof Grant>;

/** S3's public access block of a bucket: what public grants and policies it refuses or ignores. */
export const PublicAccessBlock = T.Object({
  blockPublicAcls: T.Boolean(),
  ignorePublicAcls: T.Boolean(),
  blockPublicPolicy: T.Boolean(),
  restrictPublicBuckets: T.Boolean(),
});
export type PublicAccessBlock = Static<typeof PublicAccessBlock>;

/** How a multipart object's checksum was made: over its bytes, or over its parts' checksums (S3's "…-N"). */
export const ChecksumType = T.Union([T.Literal("COMPOSITE"), T.Literal("FULL_OBJECT")]);
export type ChecksumType = Static<typeof ChecksumType>;

/** S3 Object Lock retention of a version: until then it cannot be deleted (GOVERNANCE: but by who may bypass it). */
export const Retention = T.Object({
  mode: T.Union([T.Literal("GOVERNANCE"), T.Literal("COMPLIANCE")]),
  untilMs: T.Number(),
});
export type Retention = Static<typeof Retention>;

/** A bucket's S3 Object Lock: on, with the retention new versions get when their writer names none. */
export const ObjectLock = T.Object({
  defaultMode: T.Optional(T.Union([T.Literal("GOVERNANCE"), T.Literal("COMPLIANCE")])),
  defaultDays: T.Optional(T.Integer({ minimum: 1 })),
  defaultYears: T.Optional(T.Integer({ minimum: 1 })),
});
export type ObjectLock = Static<typeof ObjectLock>;

/** A bucket's S3 versioning once it was turned on: it is never off again, only suspended. */
export const Versioning = T.Union([T.Literal("Enabled"), T.Literal("Suspended")]);
export type Versioning = Static<typeof Versioning>;

/** One part of an object written in parts (S3 multipart): its size and checksums. */
export const ObjectPart = T.Object({
  size: T.Integer({ minimum: 0 }),
  checksums: T.Optional(T.Record(T.String(), T.String())),
});
export type ObjectPart = Static<typeof ObjectPart>;

/** A file or directory of the namespace as every service sees it. */
export const FileInfo = T.Object({
  id: T.Integer(),
  path: T.String(),
  name: T.String(),
  type: T.Union([T.Literal("file"), T.Literal("directory")]),
  size: T.Integer({ minimum: 0 }),
  createdMs: T.Number(),
  mtimeMs: T.Number(),
  /** Hex MD5 of the bytes, or `md5-of-md5s-N` after a multipart upload. */
  etag: T.String(),
  contentType: T.String(),
  userMeta: T.Record(T.String(), T.String()),
  /** Standard headers stored with the bytes (cache-control, content-disposition, ...), lower-case names. */
  headers: T.Optional(T.Record(T.String(), T.String())),
  /** Tags (S3 object and bucket tagging). */
  tags: T.Optional(T.Record(T.String(), T.String())),
  /** Whole-object checksums the writer sent and koine verified (algorithm → base64). */
  checksums: T.Optional(T.Record(T.String(), T.String())),
  /** How `checksums` were made (absent: FULL_OBJECT). */
  checksumType: T.Optional(ChecksumType),
  /** The parts it was written in, when it was (S3 multipart), in order. */
  parts: T.Optional(T.Array(ObjectPart)),
  /** ACL grants beyond the owner's full control (S3 ACLs, Ozone ACLs); absent: none. */
  grants: T.Optional(T.Array(Grant)),
  /** A bucket policy (JSON text), on a top-level directory only. */
  policy: T.Optional(T.String()),
  /** A bucket's CORS rules (S3's CORSConfiguration as JSON), on a top-level directory only. */
  cors: T.Optional(T.String()),
  publicAccessBlock: T.Optional(PublicAccessBlock),
  /** The access key of the user who owns it; "" for nobody (only admins have an owner's rights). */
  owner: T.String(),
  group: T.String(),
  mode: T.Integer(),
  /** Identity of this version of the bytes; blocks are named after it. */
  contentId: T.String(),
  blockSize: T.Integer({ minimum: 1 }),
  persistence: PersistenceState,
  ufs: UfsLocation,
  /** Under-store fingerprint taken when the bytes were written. */
  ufsFingerprint: T.String(),
  /** A directory made only because an object was put below it. */
  implicit: T.Boolean(),
  /** A directory that is also an S3 object (a key ending in "/"). */
  marker: T.Boolean(),
  /** Pages of a pinned file are never evicted. */
  pinned: T.Optional(T.Boolean()),
  /** Time to live in ms from creation (absent or -1: none), and what happens then. */
  ttlMs: T.Optional(T.Integer()),
  ttlAction: T.Optional(TtlAction),
  /** For bytes only in the cache (not persisted): the cache node holding each block. */
  cachedOn: T.Optional(T.Array(T.String())),
  /** When a directory's children were last compared with the under-store (0: never). */
  syncedMs: T.Optional(T.Number()),
  /** A top-level directory's limit on the bytes of the files below it (absent: none). */
  quotaBytes: T.Optional(T.Integer({ minimum: 0 })),
  /** A top-level directory's bytes: the sizes of the files below it, kept by metadata in the commit of each change. */
  usedBytes: T.Optional(T.Integer({ minimum: 0 })),
  /** A top-level directory's S3 versioning (absent: never enabled). */
  versioning: T.Optional(Versioning),
  /**
   * This version's place among its key's versions (ascending: newest
   * first), given to each write in a bucket with versioning; absent: written
   * before. It is the version's S3 id, unless {@link nullVersion}.
   */
  version: T.Optional(T.String()),
  /** The version S3 calls "null": written while versioning was suspended. */
  nullVersion: T.Optional(T.Boolean()),
  /** A noncurrent version that is an S3 delete marker (no bytes). */
  deleteMarker: T.Optional(T.Boolean()),
  /** A top-level directory's S3 Object Lock (absent: off). */
  objectLock: T.Optional(ObjectLock),
  /** A version's Object Lock retention. */
  retention: T.Optional(Retention),
  /** A version's Object Lock legal hold: no delete while it is on. */
  legalHold: T.Optional(T.Boolean()),
});
export type FileInfo = Static<typeof FileInfo>;

/**
 * Why version `info` may not be deleted at `nowMs` (a legal hold, a
 * retention not yet over; GOVERNANCE yields to `bypassGovernance`), or
 * undefined when it may.
 */
export function lockOf(info: Pick<FileInfo, "retention" | "legalHold">, nowMs: number, bypassGovernance = false): string | undefined {
  if (info.legalHold) return "it is under a legal hold";
  const r = info.retention;
  if (r && r.untilMs > nowMs && !(r.mode === "GOVERNANCE" && bypassGovernance)) {
    return `it is retained (${r.mode}) until ${new Date(r.untilMs).toISOString()}`;
  }
  return undefined;
}

/** Whether `info`, found at `path`, is an object: a file, or at "dir/" a directory that is also one (S3's folder object). */
export function isObjectAt(info: FileInfo | undefined, path: string): info is FileInfo {
  return info !== undefined && (info.type === "file" || (info.marker === true && path.endsWith("/")));
}

/** The S3 version id of a version: its place, or "null" (see {@link FileInfo.version}). */
export function versionIdOf(info: Pick<FileInfo, "version" | "nullVersion">): string {
  return info.version !== undefined && !info.nullVersion ? info.version : "null";
}

/** A version of a key in an S3 version listing. */
export const KeyVersion = T.Object({
  key: T.String(),
  info: FileInfo,
  /** The key's current version (or its delete marker). */
  latest: T.Boolean(),
});
export type KeyVersion = Static<typeof KeyVersion>;

/** S3 ListObjectVersions over a top-level directory: current and noncurrent versions, delete markers. */
export const ListVersionsRequest = T.Object({
  bucket: T.String(),
  prefix: T.String(),
  delimiter: T.String(),
  keyMarker: T.String(),
  versionIdMarker: T.String(),
  maxKeys: T.Integer({ minimum: 0, maximum: 1000 }),
});
export const ListVersionsReply = T.Object({
  versions: T.Array(KeyVersion),
  commonPrefixes: T.Array(T.String()),
  truncated: T.Boolean(),
  /** Where the next page starts: the last key (or common prefix) and version id returned. */
  nextKeyMarker: T.String(),
  nextVersionIdMarker: T.String(),
});
export type ListVersionsReply = Static<typeof ListVersionsReply>;

/** One version of a key, by its S3 id ("null" too). */
export const VersionRequest = T.Object({ path: T.String(), versionId: T.String() });

/**
 * S3 DeleteObject in a bucket with versioning: without `versionId`, a
 * delete marker becomes the current version (the current one is kept as
 * noncurrent, or dropped when it is the null version and versioning is
 * suspended); with it, that version goes for good (the newest one left
 * becomes current).
 */
export const DeleteObjectRequest = T.Object({
  path: T.String(),
  versionId: T.Optional(T.String()),
  /** A version under GOVERNANCE retention may go (the signer may bypass it). */
  bypassGovernance: T.Optional(T.Boolean()),
});
export const DeleteObjectReply = T.Object({
  /** The S3 id of the version removed, or of the delete marker made. */
  versionId: T.String(),
  /** A delete marker was made, or the version removed was one. */
  deleteMarker: T.Boolean(),
});

/**
 * How far to trust what the namespace holds before answering: NEVER looks
 * at the under-store, ONCE loads what the namespace lacks (and re-checks
 * what is older than the sync interval), ALWAYS compares with the
 * under-store now.
 */
export const LoadMetadata = T.Union([T.Literal("NEVER"), T.Literal("ONCE"), T.Literal("ALWAYS")]);
export type LoadMetadata = Static<typeof LoadMetadata>;
const SyncOptions = {
  loadMetadata: T.Optional(LoadMetadata),
  /** Re-check entries older than this (-1: never re-check); the mount's or service default when absent. */
  syncIntervalMs: T.Optional(T.Integer({ minimum: -1 })),
};

export const PathRequest = T.Object({ path: T.String() });

export const StatRequest = T.Object({ path: T.String(), ...SyncOptions });

export const ListRequest = T.Object({
  path: T.String(),
  ...SyncOptions,
  recursive: T.Optional(T.Boolean()),
  /** Return entries whose name sorts after this one. */
  after: T.Optional(T.String()),
  limit: T.Optional(T.Integer({ minimum: 1, maximum: 10000 })),
});
export const ListReply = T.Object({
  entries: T.Array(FileInfo),
  truncated: T.Boolean(),
});

/** S3-style listing of the keys below a top-level directory. */
export const ListKeysRequest = T.Object({
  bucket: T.String(),
  prefix: T.String(),
  delimiter: T.String(),
  startAfter: T.String(),
  maxKeys: T.Integer({ minimum: 0, maximum: 1000 }),
});
export const KeyEntry = T.Object({
  key: T.String(),
  size: T.Integer(),
  etag: T.String(),
  createdMs: T.Optional(T.Number()),
  mtimeMs: T.Number(),
  owner: T.String(),
});
export type KeyEntry = Static<typeof KeyEntry>;
export const ListKeysReply = T.Object({
  keys: T.Array(KeyEntry),
  commonPrefixes: T.Array(T.String()),
  truncated: T.Boolean(),
  /** The last key or common prefix returned: where the next page starts. */
  last: T.String(),
});
export type ListKeysReply = Static<typeof ListKeysReply>;

export const MkdirRequest = T.Object({
  path: T.String(),
  recursive: T.Optional(T.Boolean()),
  /** Fail with ALREADY_EXISTS when the directory is there. */
  exclusive: T.Optional(T.Boolean()),
  owner: T.Optional(T.String()),
  group: T.Optional(T.String()),
  mode: T.Optional(T.Integer({ minimum: 0, maximum: 0o7777 })),
});

export const FileAttributes = T.Object({
  contentType: T.Optional(T.String()),
  userMeta: T.Optional(T.Record(T.String(), T.String())),
  headers: T.Optional(T.Record(T.String(), T.String())),
  tags: T.Optional(T.Record(T.String(), T.String())),
  checksums: T.Optional(T.Record(T.String(), T.String())),
  checksumType: T.Optional(ChecksumType),
  parts: T.Optional(T.Array(ObjectPart)),
  grants: T.Optional(T.Array(Grant)),
  /** A bucket policy (JSON text); "" removes it. */
  policy: T.Optional(T.String()),
  /** A bucket's CORS rules (JSON text); "" removes them. */
  cors: T.Optional(T.String()),
  /** null removes it. */
  publicAccessBlock: T.Optional(T.Union([PublicAccessBlock, T.Null()])),
  owner: T.Optional(T.String()),
  group: T.Optional(T.String()),
  mode: T.Optional(T.Integer()),
  pinned: T.Optional(T.Boolean()),
  /** -1 clears the time to live. */
  ttlMs: T.Optional(T.Integer({ minimum: -1 })),
  ttlAction: T.Optional(TtlAction),
  /** A top-level directory's quota in bytes; null removes it. */
  quotaBytes: T.Optional(T.Union([T.Integer({ minimum: 0 }), T.Null()])),
  versioning: T.Optional(Versioning),
  /** A top-level directory's Object Lock (on for good once set). */
  objectLock: T.Optional(ObjectLock),
  /** A version's retention; null removes it (GOVERNANCE only, with `bypassGovernance`). */
  retention: T.Optional(T.Union([Retention, T.Null()])),
  legalHold: T.Optional(T.Boolean()),
});
export type FileAttributes = Static<typeof FileAttributes>;

/** What a cache node reports once it has durably written the bytes. */
export const WrittenData = T.Object({
  contentId: T.String(),
  size: T.Integer({ minimum: 0 }),
  etag: T.String(),
  ufsFingerprint: T.String(),
  /** The mount whose under-store holds the bytes (absent: none does, they are only in the cache). */
  mountId: T.Optional(T.String()),
  /** Where the bytes wait, staged, until the commit publishes them (relative to the mount root). */
  stagedPath: T.Optional(T.String()),
});
export type WrittenData = Static<typeof WrittenData>;

/**
 * A write that happens only if the path holds no file (`absent`) or holds
 * the version with this ETag (`etag`): checked by metadata in the commit's
 * turn, so that of two racing conditional writes one wins.
 */
export const WriteCondition = T.Union([T.Object({ absent: T.Literal(true) }), T.Object({ etag: T.String() })]);
export type WriteCondition = Static<typeof WriteCondition>;

export const CommitFileRequest = T.Object({
  path: T.String(),
  condition: T.Optional(WriteCondition),
  data: WrittenData,
  blockSize: T.Integer({ minimum: 1 }),
  attributes: FileAttributes,
  /** Make missing parent directories (as implicit directories). */
  createParents: T.Boolean(),
  /** PERSISTED (the default) when the bytes are in the under-store; else they are only in the cache. */
  persistence: T.Optional(PersistenceState),
  /** For bytes only in the cache: the node holding each block. */
  cachedOn: T.Optional(T.Array(T.String())),
});

/** Marks a version's cached bytes as now persisted in the under-store (ASYNC_THROUGH), wherever its file is now. */
export const PersistRequest = T.Object({
  contentId: T.String(),
  data: WrittenData,
});

export const ContentRequest = T.Object({ contentId: T.String() });

/** A job of the job runner: persist one version of a file (found by its content id, wherever it moved). */
export const PersistJob = T.Object({ contentId: T.String() });
export type PersistJob = Static<typeof PersistJob>;

export const DeleteRequest = T.Object({
  path: T.String(),
  recursive: T.Optional(T.Boolean()),
  /** Remove implicit parent directories left empty (S3 semantics). */
  pruneImplicitParents: T.Optional(T.Boolean()),
  /** Delete only a file, never a directory (S3 DeleteObject on "k"). */
  fileOnly: T.Optional(T.Boolean()),
});
export const DeleteReply = T.Object({ deleted: T.Array(FileInfo) });

export const RenameRequest = T.Object({ src: T.String(), dst: T.String() });

export const SetAttributesRequest = T.Object({
  path: T.String(),
  attributes: FileAttributes,
  /** Of this S3 version (current or not): only its tags, grants, retention and legal hold change. */
  versionId: T.Optional(T.String()),
  /** A GOVERNANCE retention may be shortened or removed (the signer may bypass it). */
  bypassGovernance: T.Optional(T.Boolean()),
});

export const Upload = T.Object({
  uploadId: T.String(),
  path: T.String(),
  initiatedMs: T.Number(),
  owner: T.String(),
  attributes: FileAttributes,
  ufs: UfsLocation,
  /** Set once completed: a repeated complete answers the same again. */
  completedEtag: T.Optional(T.String()),
  /** The checksum every part carries and how the object's is made of them (S3's x-amz-checksum-algorithm and -type). */
  checksum: T.Optional(T.Object({ algorithm: T.String(), type: ChecksumType })),
});
export type Upload = Static<typeof Upload>;

export const UploadPart = T.Object({
  partNumber: T.Integer({ minimum: 1, maximum: 10000 }),
  etag: T.String(),
  size: T.Integer({ minimum: 0 }),
  mtimeMs: T.Number(),
  /** Checksums of the part's bytes (algorithm → base64). */
  checksums: T.Optional(T.Record(T.String(), T.String())),
  /** Where the part's bytes are staged, relative to the mount root. */
  ufsPath: T.String(),
});
export type UploadPart = Static<typeof UploadPart>;

export const CreateUploadRequest = T.Object({
  path: T.String(),
  owner: T.String(),
  attributes: FileAttributes,
  checksum: T.Optional(T.Object({ algorithm: T.String(), type: ChecksumType })),
});
export const UploadIdRequest = T.Object({ uploadId: T.String() });
export const PutPartRequest = T.Object({ uploadId: T.String(), part: UploadPart });
export const ListPartsRequest = T.Object({
  uploadId: T.String(),
  after: T.Integer({ minimum: 0 }),
  maxParts: T.Integer({ minimum: 0, maximum: 1000 }),
});
export const ListPartsReply = T.Object({
  upload: Upload,
  parts: T.Array(UploadPart),
  truncated: T.Boolean(),
});
export const ListUploadsRequest = T.Object({
  bucket: T.String(),
  prefix: T.String(),
  maxUploads: T.Integer({ minimum: 0, maximum: 1000 }),
  keyMarker: T.String(),
  uploadIdMarker: T.String(),
});
export const ListUploadsReply = T.Object({
  uploads: T.Array(Upload),
  truncated: T.Boolean(),
});
export const CompleteUploadRequest = T.Object({
  uploadId: T.String(),
  parts: T.Array(T.Object({ partNumber: T.Integer(), etag: T.String() })),
  /** Parts of any size (AIS appends); S3's uploads keep its 5 MiB least for all but the last. */
  anySize: T.Optional(T.Boolean()),
});
/** The parts to concatenate, checked against the records, in order. */
export const CompletePlan = T.Object({
  upload: Upload,
  parts: T.Array(UploadPart),
  contentId: T.String(),
  etag: T.String(),
});
export type CompletePlan = Static<typeof CompletePlan>;
export const FinishUploadRequest = T.Object({
  uploadId: T.String(),
  data: WrittenData,
  blockSize: T.Integer({ minimum: 1 }),
  /** Set on the object over the upload's own (its checksums, its parts). */
  attributes: T.Optional(FileAttributes),
  condition: T.Optional(WriteCondition),
});

export const Mount = T.Object({
  id: T.String(),
  path: T.String(),
  uri: T.String(),
  readOnly: T.Boolean(),
  /** Under-store settings (endpoint, credentials, sync interval), Alluxio property names. */
  properties: T.Optional(T.Record(T.String(), T.String())),
});
export type Mount = Static<typeof Mount>;
export const MountsReply = T.Object({
  mounts: T.Array(Mount),
  /** The shard whose mounts these are (0 when the namespace is not split). */
  shard: T.Optional(T.Integer({ minimum: 0 })),
  /** How many shards the namespace is split into (shard 0 says; clients route by it). */
  shards: T.Optional(T.Integer({ minimum: 1 })),
});
export const MountRequest = T.Object({
  path: T.String(),
  uri: T.String(),
  readOnly: T.Optional(T.Boolean()),
  properties: T.Optional(T.Record(T.String(), T.String())),
});

/** Content ids whose cached pages must not be evicted (pinned or not yet persisted). */
export const PinnedReply = T.Object({ contentIds: T.Array(T.String()) });
export const PinsChangedEvent = T.Object({ pinned: T.Array(T.String()), unpinned: T.Array(T.String()) });
export type PinsChangedEvent = Static<typeof PinsChangedEvent>;
/** Asks every cache node to drop the pages of these contents. */
export const FreeEvent = T.Object({ contentIds: T.Array(T.String()) });
export const MountsChangedEvent = MountsReply;

export const Empty = T.Object({});

const AccessKey = T.String({ pattern: "^[A-Za-z0-9._-]{3,128}$" });
const GroupName = T.String({ pattern: "^[A-Za-z0-9._-]{1,64}$" });
const SecretKey = T.String({ minLength: 8, maxLength: 256 });

/** A user as anyone may see it: never its secret. */
export const User = T.Object({
  accessKey: AccessKey,
  groups: T.Array(GroupName, { maxItems: 64 }),
  /** Admins mount, run cluster operations, manage users and have every right on every path. */
  admin: T.Boolean(),
  createdMs: T.Number(),
});
export type User = Static<typeof User>;
/** Adds a user or replaces one (its secret, groups and admin flag). */
/** A metadata replica as its heartbeat says. */
export const MetadataReplica = T.Object({
  replica: T.String(),
  /** The shard it is a replica of (0 when the namespace is not split). */
  shard: T.Optional(T.Integer({ minimum: 0 })),
  leads: T.Boolean(),
  /** Sequence of the last journal record it applied, and when that record was stored (0: none). */
  appliedSeq: T.Integer({ minimum: 0 }),
  appliedStoredMs: T.Number(),
  startedMs: T.Number(),
});
export type MetadataReplica = Static<typeof MetadataReplica>;

export const PutUserRequest = T.Object({
  accessKey: AccessKey,
  secretKey: SecretKey,
  groups: T.Optional(User.properties.groups),
  admin: T.Optional(T.Boolean()),
});
export type PutUserRequest = Static<typeof PutUserRequest>;
export const AccessKeyRequest = T.Object({ accessKey: T.String() });
export const UsersReply = T.Object({ users: T.Array(User) });
/**
 * What a front-end checks signatures with: each user and its secret sealed
 * with the cluster key (AES-256-GCM), never the secret itself.
 */
export const Credential = T.Object({ ...User.properties, sealedSecret: T.String() });
export type Credential = Static<typeof Credential>;
export const CredentialsReply = T.Object({ credentials: T.Array(Credential) });
export const UsersChangedEvent = T.Object({ accessKeys: T.Array(T.String()) });

/** Published by metadata after every change, so caches can drop entries. */
export const ChangedEvent = T.Object({
  /** Files or directories whose own entry changed. */
  paths: T.Array(T.String()),
  /** Directories whose descendants changed too (deleted or moved). */
  trees: T.Array(T.String()),
});
export type ChangedEvent = Static<typeof ChangedEvent>;

/** One cache node's entry in the membership bucket. */
export const Member = T.Object({
  id: T.String(),
  /** DECOMMISSIONING: still serving and answering, but no longer an owner on the ring. */
  state: T.Optional(T.Union([T.Literal("LIVE"), T.Literal("DECOMMISSIONING")])),
  url: T.String(),
  /** Where the node serves AIStore objects as a target (its own AIS port), when it does. */
  aisUrl: T.Optional(T.String()),
  capacityBytes: T.Integer(),
  usedBytes: T.Integer(),
  startedMs: T.Number(),
});
export type Member = Static<typeof Member>;
/** A running koine service, as it announces itself in {@link SERVICES_BUCKET} (see `announceService` of @koine/bus). */
export const ServiceEntry = T.Object({
  role: T.String(),
  /** Unique among the role's services: a cache node's id, a metadata replica's, a front-end's host-pid-port. */
  id: T.String(),
  /** Where its `/healthz`, `/readyz` and `/metrics` are (none: it opens no port, as metadata in the all-in-one process). */
  opsUrl: T.Optional(T.String()),
  /** The address its clients use, when it serves one. */
  url: T.Optional(T.String()),
  host: T.String(),
  pid: T.Integer(),
  startedMs: T.Number(),
  heardMs: T.Number(),
});
export type ServiceEntry = Static<typeof ServiceEntry>;
/** A cache node that left the cluster (decommissioned or stopped). */
export const MemberLeftEvent = T.Object({ id: T.String() });

export const FreeRequest = T.Object({
  /** Drop the pages of these content ids; all pages when absent. */
  contentIds: T.Optional(T.Array(T.String())),
});
export const FreeReply = T.Object({ freedPages: T.Integer(), freedBytes: T.Integer() });

export const CacheStats = T.Object({
  nodeId: T.String(),
  pages: T.Integer(),
  usedBytes: T.Integer(),
  capacityBytes: T.Integer(),
  hits: T.Integer(),
  misses: T.Integer(),
  /** Misses of a page another read was already loading: no second under-store read. */
  coalescedMisses: T.Integer(),
  ufsReadBytes: T.Integer(),
  /** Page bytes read from memory and from disk (hits). */
  memoryReadBytes: T.Integer(),
  diskReadBytes: T.Integer(),
  corruptPages: T.Integer(),
  evictedPages: T.Integer(),
});
export type CacheStats = Static<typeof CacheStats>;
