import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

export interface OpenKvOptions {
  /** Entries older than this are removed by the server. */
  ttlMs?: number;
  history?: number;
}

/** Opens a JetStream KV bucket, creating it when missing. */
export async function openKv(nc: NatsConnection, bucket: string, options: OpenKvOptions = {}): Promise<KV> {
  const kvm = new Kvm(nc);
  return kvm.create(bucket, {
    history: options.history ?? 1,
    ...(options.ttlMs === undefined ? {} : { ttl: options.ttlMs }),
  });
}
