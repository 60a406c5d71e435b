/**
 * Typed NATS messaging for koine: a connection that refuses old servers,
 * validated request/reply with stable error codes, events, and KV buckets.
 * @module
 */
export { compareVersions, connect, MIN_SERVER_VERSION } from "./connect.ts";
export type { ConnectOptions } from "./connect.ts";
export { DEFAULT_REQUEST_TIMEOUT_MS, publish, request, Responder, serve, subscribe } from "./rpc.ts";
export type { RequestOptions, ServeOptions } from "./rpc.ts";
export { openKv } from "./kv.ts";
export type { OpenKvOptions } from "./kv.ts";
export type { KV, KvEntry } from "@nats-io/kv";
export type { NatsConnection, Subscription } from "@nats-io/transport-node";
export { findNatsServer, startNatsServer } from "./nats_server.ts";
export type { NatsServer, NatsServerOptions } from "./nats_server.ts";
