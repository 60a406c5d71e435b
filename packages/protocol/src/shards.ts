import { createHash } from "node:crypto";
import type { Rpc } from "./rpc.ts";
import type { MetadataReplica } from "./schemas.ts";
import { JOURNAL_STREAM, JOURNAL_SUBJECT } from "./subjects.ts";

/**
 * Metadata shards: the namespace split by its top-level directories (S3
 * buckets, Ozone volumes, AIS buckets), each shard with its own journal,
 * lease, leader and LMDB. Shard 0 keeps the names a namespace of one shard
 * has always had, and holds the users and "/" itself.
 */

/** The most shards a namespace may be split into. */
export const MAX_METADATA_SHARDS = 64;

/** The shard of `shards` holding `path` (by its first segment; "/" is shard 0's). */
export function shardOf(path: string, shards: number): number {
  const first = path.split("/").find((segment) => segment !== "");
  return first === undefined || shards <= 1 ? 0 : weight(first) % shards;
}

/** The shard a multipart upload is held by: the one its id names (see {@link uploadIdIn}), else 0. */
export function shardOfUpload(uploadId: string, shards: number): number {
  const named = /-([0-9]+)$/.exec(uploadId);
  const shard = named ? Number(named[1]) : 0;
  return shard < shards ? shard : 0;
}

/** An upload id that names its shard (shard 0's are as they were). */
export function uploadIdIn(id: string, shard: number): string {
  return shard === 0 ? id : `${id}-${shard}`;
}

/** `endpoint` as shard `shard` answers it: shard 0 on its own subject, others on `<subject>.<shard>`. */
export function shardEndpoint<R extends Rpc>(endpoint: R, shard: number): R {
  return shard === 0 ? endpoint : { ...endpoint, subject: `${endpoint.subject}.${shard}` };
}

/** The journal (stream and subject) of shard `shard`. */
export function journalOf(shard: number): { stream: string; subject: string } {
  return shard === 0
    ? { stream: JOURNAL_STREAM, subject: JOURNAL_SUBJECT }
    : { stream: `${JOURNAL_STREAM}_${shard}`, subject: `${JOURNAL_SUBJECT}.${shard}` };
}

/** What the names of shard `shard`'s snapshots begin with, in the one object store of snapshots. */
export function snapshotPrefix(shard: number): string {
  return shard === 0 ? "" : `shard-${shard}/`;
}

/** A replica of a shard, as heartbeats are told apart: a process is a replica of every shard it serves. */
export function replicaKey(state: MetadataReplica): string {
  return `${state.shard ?? 0}/${state.replica}`;
}

/**
 * Replicas in the order they should lead shard `shard` (rendezvous
 * hashing): each shard prefers its own replica, and when one goes, only
 * the shards it led move.
 */
export function rendezvousOrder(shard: number, replicas: readonly string[]): string[] {
  return [...replicas].sort((a, b) => weight(`${shard}/${b}`) - weight(`${shard}/${a}`) || (a < b ? -1 : 1));
}

function weight(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0);
}
