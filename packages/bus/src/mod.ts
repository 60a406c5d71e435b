/**
 * Typed NATS messaging for koine: a connection that refuses old servers,
 * validated request/reply with stable error codes, events, and KV buckets.
 * @module
 */

export type { KV, KvEntry } from "@nats-io/kv";
export type { NatsConnection, Subscription } from "@nats-io/transport-node";
export type { ConnectOptions } from "./connect.ts";
export { compareVersions, connect, connectService, MIN_SERVER_VERSION } from "./connect.ts";
export { LastHeard } from "./heard.ts";
export { Journal, JournalFencedError, type JournalRecord, JournalTrimmedError } from "./journal.ts";
export type { OpenKvOptions } from "./kv.ts";
export {
  clusterReplicas,
  entriesOf,
  followKv,
  isJetStreamTransient,
  openKv,
  stepDownStreamLeader,
  streamLeadership,
  whenJetStreamReady,
} from "./kv.ts";
export { DEFAULT_LEASE_TTL_MS, Lease, type LeaseHandlers, type LeaseOptions } from "./lease.ts";
export type { NatsServer, NatsServerOptions } from "./nats_server.ts";
export {
  findNatsServer,
  NATS_SERVER_CONFIG,
  type NatsTls,
  natsServerArgs,
  natsServerConfig,
  startNatsServer,
} from "./nats_server.ts";
export type { WorkQueueOptions } from "./queue.ts";
export { ACK_WAIT_MS, enqueue, ensureWorkQueue, workQueueConsumer } from "./queue.ts";
export { requestIdHeaders, withRequestIdOf } from "./request_id.ts";
export { keepTrying, type Retrying } from "./retry.ts";
export type { RequestOptions, ServeOptions } from "./rpc.ts";
export { DEFAULT_REQUEST_TIMEOUT_MS, publish, Responder, request, serve, subscribe } from "./rpc.ts";
export { type Announcement, announceService, listServices, type ServiceState } from "./services.ts";
export { type Snapshot, SnapshotStore } from "./snapshots.ts";
