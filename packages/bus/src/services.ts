import { hostname } from "node:os";
import { Schemas, SERVICE_DOWN_MS, SERVICE_FORGET_MS, SERVICE_HEARTBEAT_MS, SERVICES_BUCKET, type ServiceEntry } from "@koine/protocol";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { Value } from "@sinclair/typebox/value";
import { entriesOf, openKv } from "./kv.ts";

/** A service as the services bucket shows it: UP while it heartbeats, DOWN once silent for {@link SERVICE_DOWN_MS}. */
export type ServiceState = ServiceEntry & { state: "UP" | "DOWN"; heardMsAgo: number };

export interface Announcement {
  /**
   * Stops the heartbeats and removes the entry: a service that stops is
   * gone, not down. With `leave` false the entry stays, to go DOWN (a
   * crash, as tests simulate one).
   */
  stop(leave?: boolean): Promise<void>;
}

/** How long a stopping service waits for its last heartbeat and its goodbye. */
const STOP_WAIT_MS = 1_000;

const bucket = (nc: NatsConnection) => openKv(nc, SERVICES_BUCKET, { ttlMs: SERVICE_FORGET_MS });

/** The key of a service: `<role>.<id>`, the id in the characters a KV key may hold. */
function keyOf(role: string, id: string): string {
  return `${role}.${id.replace(/[^-\w=]/g, "_")}`;
}

/**
 * Announces a running service in the services bucket, again every
 * {@link SERVICE_HEARTBEAT_MS}: what `koine status`, `koine top` and the
 * console list. Never in the way of the service: a heartbeat that cannot be
 * stored (JetStream electing a leader) is tried at the next.
 */
export function announceService(
  nc: NatsConnection,
  service: Pick<ServiceEntry, "role" | "id"> & Partial<Pick<ServiceEntry, "opsUrl" | "url">>,
): Announcement {
  const entry = { ...service, host: hostname(), pid: process.pid, startedMs: Date.now() };
  const key = keyOf(service.role, service.id);
  let kv: KV | undefined;
  let beat: Promise<unknown> | undefined;
  const heartbeat = () => {
    // One at a time: while JetStream is away, a heartbeat waits for it and the next ones are skipped.
    beat ??= (async () => {
      kv ??= await bucket(nc);
      await kv.put(key, JSON.stringify({ ...entry, heardMs: Date.now() } satisfies ServiceEntry));
    })()
      .catch(() => {})
      .finally(() => {
        beat = undefined;
      });
  };
  heartbeat();
  const timer = setInterval(heartbeat, SERVICE_HEARTBEAT_MS);
  timer.unref();
  return {
    async stop(leave = true) {
      clearInterval(timer);
      // A stop never waits on JetStream long: an entry left behind goes DOWN, then is forgotten.
      const settled = <T>(work: Promise<T> | undefined) =>
        Promise.race([work, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS))]);
      await settled(beat);
      if (leave && kv) await settled(kv.delete(key).catch(() => {}));
    },
  };
}

/** Every service announced, the silent ones DOWN, by role then id. */
export async function listServices(nc: NatsConnection): Promise<ServiceState[]> {
  const now = Date.now();
  const services: ServiceState[] = [];
  for (const entry of await entriesOf(await bucket(nc))) {
    let value: unknown;
    try {
      value = entry.json();
    } catch {
      continue;
    }
    if (!Value.Check(Schemas.ServiceEntry, value)) continue;
    const heardMsAgo = Math.max(0, now - value.heardMs);
    services.push({ ...value, state: heardMsAgo > SERVICE_DOWN_MS ? "DOWN" : "UP", heardMsAgo });
  }
  return services.sort((a, b) => a.role.localeCompare(b.role) || a.id.localeCompare(b.id));
}
