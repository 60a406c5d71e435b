import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

export interface OpenKvOptions {
  /** Entries older than this are removed by the server. */
  ttlMs?: number;
  history?: number;
}

/**
 * Copies of each JetStream stream and KV bucket koine creates: 3 when the
 * server is part of a cluster of three or more (so losing one server loses
 * nothing), else 1.
 */
export function clusterReplicas(nc: NatsConnection): number {
  return (nc.info?.connect_urls?.length ?? 1) >= 3 ? 3 : 1;
}

/**
 * Runs a JetStream set-up call again while the cluster is still electing
 * its leaders (a freshly started cluster answers "unavailable" for a few
 * seconds).
 */
export async function whenJetStreamReady<T>(work: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await work();
    } catch (err) {
      const transient = /unavailable|no suitable peers|insufficient resources|timeout|503|leader/i.test((err as Error).message);
      if (!transient || Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Opens a JetStream KV bucket, creating it when missing (with the cluster's replicas). */
export async function openKv(nc: NatsConnection, bucket: string, options: OpenKvOptions = {}): Promise<KV> {
  const kvm = new Kvm(nc);
  return whenJetStreamReady(() =>
    kvm.create(bucket, {
      history: options.history ?? 1,
      replicas: clusterReplicas(nc),
      ...(options.ttlMs === undefined ? {} : { ttl: options.ttlMs }),
    }),
  );
}
