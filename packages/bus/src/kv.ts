import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
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
      if (!isJetStreamTransient(err) || Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Whether a JetStream call failed only for now: no leader yet (the client
 * reports "jetstream is not enabled" when a stream had no leader to
 * answer), or its answer lost while a server was failing over (the call
 * may have taken effect: only a call safe to repeat is simply run again).
 */
export function isJetStreamTransient(err: unknown): boolean {
  return /unavailable|no suitable peers|insufficient resources|timeout|503|leader|no responders|jetstream is not enabled/i.test(
    (err as Error).message,
  );
}

/**
 * A clustered stream as seen from this connection: whether the server this
 * connection is on leads it, and whether it is settled (it has a leader, and
 * every other replica is there, current and heard from within 2 s). A
 * stream without replicas is never led "here".
 */
export async function streamLeadership(nc: NatsConnection, stream: string): Promise<{ here: boolean; settled: boolean }> {
  // No account check: only the meta group's leader answers it, and that may be the server that just went.
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const { cluster } = await jsm.streams.info(stream);
  const replicas = cluster?.replicas ?? [];
  const here = cluster?.leader !== undefined && cluster.leader === nc.info?.server_name && replicas.length > 0;
  const settled = cluster?.leader !== undefined && replicas.every((replica) => replica.current && !replica.offline && replica.active < 2e9);
  return { here, settled };
}

/** Asks stream `stream`'s leader to hand the lead to another of its replicas. */
export async function stepDownStreamLeader(nc: NatsConnection, stream: string): Promise<void> {
  await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 2_000 });
}

/**
 * Opens a JetStream KV bucket, creating it when missing (with the cluster's
 * replicas). Reads are answered by the bucket's stream leader, not by any
 * replica (JetStream's "direct get"): a replica may be behind, and one whose
 * server was just cut off still takes its share of the requests until the
 * other servers drop their routes to it (a lease attempt waited 5 s on one).
 */
export async function openKv(nc: NatsConnection, bucket: string, options: OpenKvOptions = {}): Promise<KV> {
  const kvm = new Kvm(nc);
  return whenJetStreamReady(() =>
    kvm.create(bucket, {
      history: options.history ?? 1,
      replicas: clusterReplicas(nc),
      allow_direct: false,
      ...(options.ttlMs === undefined ? {} : { ttl: options.ttlMs }),
    }),
  );
}

/**
 * Every key of a bucket, deleted ones included (their entries say DEL or
 * PURGE), as the stream's leader knows them: the subjects of its stream,
 * one request a page (waiting out leader elections). Not `kv.keys()`: its
 * walk ends at the first idle heartbeat, which a stalled delivery (a
 * server failing over) sends before every key came.
 */
function keysOf(kv: KV): Promise<string[]> {
  const bucket = kv as unknown as { jsm: JetStreamManager; stream: string; bucket: string };
  const prefix = `$KV.${bucket.bucket}.`;
  return whenJetStreamReady(async () => {
    const info = await bucket.jsm.streams.info(bucket.stream, { subjects_filter: `${prefix}>` });
    return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  });
}

/** The entries of a bucket's live keys (see {@link keysOf}), each read from JetStream (waiting out leader elections). */
export async function entriesOf(kv: KV): Promise<KvEntry[]> {
  const entries: KvEntry[] = [];
  for (const key of await keysOf(kv)) {
    const entry = await whenJetStreamReady(() => kv.get(key));
    if (entry?.operation === "PUT") entries.push(entry);
  }
  return entries;
}

/**
 * Follows a bucket: `apply` is given every live entry there now (before
 * this resolves), then every change as it comes (a deleted key has operation
 * DEL or PURGE). Returns what stops following. Set-up waits out leader
 * elections like every JetStream call here.
 */
export async function followKv(kv: KV, apply: (entry: KvEntry) => void): Promise<() => void> {
  const watch = await whenJetStreamReady(() => kv.watch());
  for (const entry of await entriesOf(kv)) apply(entry);
  void (async () => {
    for await (const entry of watch) apply(entry);
  })();
  return () => watch.stop();
}
