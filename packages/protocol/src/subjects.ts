import * as J from "./jobs.ts";
import { event, rpc } from "./rpc.ts";
import * as S from "./schemas.ts";

/** Every request/reply endpoint of the metadata service. */
export const Meta = {
  stat: rpc("koine.meta.stat", S.StatRequest, S.FileInfo),
  list: rpc("koine.meta.list", S.ListRequest, S.ListReply),
  listKeys: rpc("koine.meta.listKeys", S.ListKeysRequest, S.ListKeysReply),
  listVersions: rpc("koine.meta.versions.list", S.ListVersionsRequest, S.ListVersionsReply),
  /** One version of a file, current or not (a delete marker too), by its S3 id. */
  getVersion: rpc("koine.meta.versions.get", S.VersionRequest, S.FileInfo),
  deleteObject: rpc("koine.meta.versions.delete", S.DeleteObjectRequest, S.DeleteObjectReply),
  mkdir: rpc("koine.meta.mkdir", S.MkdirRequest, S.FileInfo),
  commitFile: rpc("koine.meta.commitFile", S.CommitFileRequest, S.FileInfo),
  delete: rpc("koine.meta.delete", S.DeleteRequest, S.DeleteReply),
  rename: rpc("koine.meta.rename", S.RenameRequest, S.FileInfo),
  setAttributes: rpc("koine.meta.setAttributes", S.SetAttributesRequest, S.FileInfo),
  createUpload: rpc("koine.meta.upload.create", S.CreateUploadRequest, S.Upload),
  getUpload: rpc("koine.meta.upload.get", S.UploadIdRequest, S.Upload),
  putPart: rpc("koine.meta.upload.putPart", S.PutPartRequest, S.UploadPart),
  listParts: rpc("koine.meta.upload.listParts", S.ListPartsRequest, S.ListPartsReply),
  listUploads: rpc("koine.meta.upload.list", S.ListUploadsRequest, S.ListUploadsReply),
  planComplete: rpc("koine.meta.upload.planComplete", S.CompleteUploadRequest, S.CompletePlan),
  finishUpload: rpc("koine.meta.upload.finish", S.FinishUploadRequest, S.FileInfo),
  abortUpload: rpc("koine.meta.upload.abort", S.UploadIdRequest, S.Upload),
  persist: rpc("koine.meta.persist", S.PersistRequest, S.FileInfo),
  /** The file holding a version that is pinned or not yet persisted. */
  findContent: rpc("koine.meta.findContent", S.ContentRequest, S.FileInfo),
  mounts: rpc("koine.meta.mounts", S.Empty, S.MountsReply),
  mount: rpc("koine.meta.mount", S.MountRequest, S.MountsReply),
  unmount: rpc("koine.meta.unmount", S.PathRequest, S.MountsReply),
  pinned: rpc("koine.meta.pinned", S.Empty, S.PinnedReply),
  putUser: rpc("koine.meta.users.put", S.PutUserRequest, S.User),
  listUsers: rpc("koine.meta.users.list", S.Empty, S.UsersReply),
  removeUser: rpc("koine.meta.users.remove", S.AccessKeyRequest, S.User),
  /** Users with their sealed secrets: for front-ends only (NATS permissions keep it from the rest). */
  credentials: rpc("koine.meta.users.credentials", S.Empty, S.CredentialsReply),
} as const;

/** Control endpoints of one cache node. */
export function cacheNode(nodeId: string) {
  return {
    free: rpc(`koine.cache.${nodeId}.free`, S.FreeRequest, S.FreeReply),
    stats: rpc(`koine.cache.${nodeId}.stats`, S.Empty, S.CacheStats),
    /** Leaves the ring as an owner (its entry says DECOMMISSIONING); it still serves. */
    decommission: rpc(`koine.cache.${nodeId}.decommission`, S.Empty, S.Member),
    /** Leaves the cluster: no more heartbeats, its entry removed. */
    leave: rpc(`koine.cache.${nodeId}.leave`, S.Empty, S.Empty),
    /** Reads block ranges through into the page store (distributed load). */
    load: rpc(`koine.cache.${nodeId}.load`, J.LoadBlocksRequest, J.LoadBlocksReply),
    /** Which ranges the node holds whole (rebalance). */
    held: rpc(`koine.cache.${nodeId}.held`, J.RangesRequest, J.HeldReply),
    /** Drops the pages of these ranges, pinned ones excepted (rebalance, clear stale cache). */
    drop: rpc(`koine.cache.${nodeId}.drop`, J.RangesRequest, J.DroppedReply),
  } as const;
}

export const Events = {
  changed: event("koine.events.changed", S.ChangedEvent),
  usersChanged: event("koine.events.users", S.UsersChangedEvent),
  mountsChanged: event("koine.events.mounts", S.MountsChangedEvent),
  pinsChanged: event("koine.events.pins", S.PinsChangedEvent),
  /** Every cache node drops the pages of these contents. */
  free: event("koine.events.free", S.FreeEvent),
  /** A cache node's heartbeat, every {@link MEMBER_HEARTBEAT_MS} (its entry in {@link MEMBERS_BUCKET} too). */
  memberHeartbeat: event("koine.events.members.heartbeat", S.Member),
  memberLeft: event("koine.events.members.left", S.MemberLeftEvent),
  /** A metadata replica's heartbeat, every second: whether it leads, how far it has applied the journal. */
  metadataReplica: event("koine.events.metadata.replica", S.MetadataReplica),
} as const;

/** Jobs, one subject per kind, on the work queue. */
export const Jobs = {
  persist: event("koine.jobs.persist", S.PersistJob),
  /** Run or resume a job of the admin API (its record is in {@link J.JOBS_BUCKET}). */
  run: event("koine.jobs.run", J.JobMessage),
} as const;

/** The stream and subject of metadata's journal (every change of the namespace, in order). */
export const JOURNAL_STREAM = "KOINE_META_JOURNAL";
export const JOURNAL_SUBJECT = "koine.journal.meta";
/** The JetStream KV bucket of metadata's leases (which replica leads). */
export const METADATA_LEASES = "koine-metadata-leases";
/** The JetStream object store of metadata's snapshots (an LMDB copy and the journal position it holds). */
export const METADATA_SNAPSHOTS = "koine-metadata-snapshots";
/** A metadata replica not heard from for this long is taken as gone. */
export const METADATA_REPLICA_TTL_MS = 5_000;

/** The JetStream KV bucket where cache nodes heartbeat their entry. */
export const MEMBERS_BUCKET = "koine-members";
/** A member entry older than this is taken as gone. */
export const MEMBER_TTL_MS = 10_000;
export const MEMBER_HEARTBEAT_MS = 2_000;

/** The JetStream KV bucket where every service announces itself (see ServiceEntry), every {@link SERVICE_HEARTBEAT_MS}. */
export const SERVICES_BUCKET = "koine-services";
export const SERVICE_HEARTBEAT_MS = 2_000;
/** A service not heard from for this long is down (killed, cut off, hung). */
export const SERVICE_DOWN_MS = 10_000;
/** A service down this long is forgotten (the bucket's age limit); one that stops says so at once. */
export const SERVICE_FORGET_MS = 3_600_000;

/** The JetStream work queue of jobs: one subject per job kind. */
export const JOBS_STREAM = "KOINE_JOBS";
export const JOBS_SUBJECTS = "koine.jobs.>";
export const JOBS_CONSUMER = "koine-job-runner";
