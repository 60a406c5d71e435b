import { rootCertificates } from "node:tls";
import { type ClusterKey, natsCredentials } from "@koine/access";
import { serviceLogger } from "@koine/log";
import type { ServiceRole } from "@koine/protocol";
import { type NatsConnection, connect as natsConnect } from "@nats-io/transport-node";

/** Oldest nats-server koine runs on: the JetStream consumer API it uses came in 2.9.4. */
export const MIN_SERVER_VERSION = "2.9.4";

export interface ConnectOptions {
  /** Comma-separated or listed server URLs. */
  servers: string | string[];
  /** Connection name shown by the server's monitoring. */
  name: string;
  /** The service's NATS user and password (a server without users takes any). */
  auth?: { user: string; pass: string };
  /** CA certificates a server that speaks TLS is checked against (besides the system's). */
  ca?: Buffer | undefined;
  /** Use the servers in the order listed (the first that answers), not shuffled. */
  inOrder?: boolean;
}

/**
 * Connects to NATS with endless reconnects and refuses servers older than
 * {@link MIN_SERVER_VERSION}.
 */
export async function connect(options: ConnectOptions): Promise<NatsConnection> {
  const servers = typeof options.servers === "string" ? options.servers.split(",") : options.servers;
  // The server a connection was on is not the first one dialled when it is lost: nats.js keeps that server at the
  // head of its pool once the cluster has told it of the others, and one cut off (silent, not refusing) costs the
  // whole connect timeout before the next is tried.
  let connectedTo = "";
  let dialsSinceLost = 0;
  const nc = await natsConnect({
    servers,
    name: options.name,
    ...(options.auth ? { user: options.auth.user, pass: options.auth.pass } : {}),
    // A server that requires TLS gets it (nats.js upgrades when the server says so); this is whom to trust.
    ...(options.ca ? { tls: { ca: [...rootCertificates, options.ca.toString()].join("\n") } } : {}),
    ...(options.inOrder ? { noRandomize: true } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // A server cut off (no reset, just silence) is noticed after two unanswered pings: 3-4.5 s, then the next server
    // is used; one that does not answer a connection in 2 s is passed over (the default, 20 s, stalled reconnecting
    // whenever a silent server came first in the list).
    pingInterval: 1_500,
    maxPingOut: 2,
    timeout: 2_000,
    reconnectToServer: (pool, info) => {
      if (info === null) return null; // the first connection: the pool's order
      dialsSinceLost++;
      return dialsSinceLost === 1 && pool.length > 1 && pool[0]?.listen === connectedTo ? (pool[1] ?? null) : null;
    },
  });
  connectedTo = nc.getServer();
  const log = serviceLogger(options.name.replace(/^koine-/, ""));
  void (async () => {
    // What an operator needs to follow a failover in each service's log.
    for await (const s of nc.status()) {
      if (s.type === "reconnect") {
        connectedTo = nc.getServer();
        dialsSinceLost = 0;
      }
      if (s.type === "disconnect" || s.type === "reconnect") log.warn({ server: s.server }, `NATS ${s.type}`);
      else if (s.type === "staleConnection") log.warn("NATS server stopped answering pings");
    }
  })();
  const version = nc.info?.version ?? "0.0.0";
  if (compareVersions(version, MIN_SERVER_VERSION) < 0) {
    await nc.close();
    throw new Error(`Cannot use nats-server ${version}: koine needs ${MIN_SERVER_VERSION} or newer`);
  }
  return nc;
}

/**
 * Connects a koine service as its role's NATS user (the password derived
 * from the cluster key), trusting `ca` for a server that speaks TLS.
 */
export function connectService(options: {
  servers: string;
  role: ServiceRole;
  clusterKey: ClusterKey;
  ca?: Buffer | undefined;
  /** @default koine-<role> */
  name?: string;
  /** Use the servers in the order listed (see {@link ConnectOptions.inOrder}). */
  inOrder?: boolean;
}): Promise<NatsConnection> {
  const { servers, role, clusterKey, ca, name, inOrder } = options;
  return connect({ servers, name: name ?? `koine-${role}`, auth: natsCredentials(clusterKey, role), ca, ...(inOrder ? { inOrder } : {}) });
}

/** Compares dotted versions numerically ("2.10.1" > "2.9.10"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
