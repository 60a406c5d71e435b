import type { AddressInfo } from "node:net";
import { type ClusterKey, DataRequestSigner, openProperties, PageSealer } from "@koine/access";
import { announceService, connectService, keepTrying, Responder, subscribe } from "@koine/bus";
import { MetadataShards, Policies } from "@koine/client";
import type { Tls } from "@koine/config";
import { opsRoutes, schemeOf } from "@koine/frontend";
import { serviceLogger } from "@koine/log";
import { type CacheStats, cacheNode, Events, type Member, Meta } from "@koine/protocol";
import { UfsRegistry } from "@koine/ufs";
import { DataEngine } from "./data_engine.ts";
import { buildHttp } from "./http.ts";
import { MemberHeartbeat } from "./membership.ts";
import { reportMetrics } from "./metrics.ts";
import { PageStore } from "./page_store.ts";

export interface CacheNodeOptions {
  natsUrl: string;
  /** The key every service shares: the node's NATS password comes from it. */
  clusterKey: ClusterKey;
  /** Serve the data port over HTTPS with this certificate (it must name the advertised host). */
  tls?: Tls | undefined;
  /** Name of this node, unique in the cluster. */
  nodeId: string;
  /** Directory of this node's pages. */
  dataDir: string;
  host: string;
  /** Data port; 0 picks a free one. */
  port: number;
  /** Host name other services use to reach this node. */
  advertiseHost: string;
  capacityBytes: number;
  /** Hot pages also kept in memory, up to this many bytes (0: none). */
  memoryBytes: number;
  pageSize: number;
  /** How often cached contents are checked against their path's TTL. @default 10 s */
  policyCheckMs?: number;
}

export const DEFAULT_PORT = 29999;
export const DEFAULT_CAPACITY_BYTES = 8 * 1024 ** 3;
export const DEFAULT_PAGE_SIZE = 1024 * 1024;
export const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_POLICY_CHECK_MS = 10_000;

export interface CacheNode {
  id: string;
  /** Base URL of the data endpoint. */
  url: string;
  /** For a front-end in the same process: the engine, without an HTTP hop. */
  engine: DataEngine;
  stats(): CacheStats;
  /** Says in the node's membership entry where else it serves (an AIS target's URL). */
  advertise(services: Pick<Member, "aisUrl">): Promise<void>;
  /** Leaves the cluster: says goodbye in the membership bucket, then stops. */
  stop(): Promise<void>;
  /** Stops at once, as a crash would: connections cut, no goodbye. */
  abort(): Promise<void>;
}

/**
 * Starts a cache node: a page store on local disk behind an HTTP data
 * endpoint, NATS control (free, stats), and a heartbeat in the membership
 * bucket so that front-ends place blocks on it.
 */
export async function startCacheNode(options: CacheNodeOptions): Promise<CacheNode> {
  const store = await PageStore.open(options.dataDir, options.capacityBytes, options.memoryBytes, new PageSealer(options.clusterKey));
  const nc = await connectService({
    servers: options.natsUrl,
    role: "cache-node",
    clusterKey: options.clusterKey,
    ca: options.tls?.ca,
    name: `koine-cache-${options.nodeId}`,
  });

  const shards = new MetadataShards(nc);
  const stores = new UfsRegistry(
    () => shards.loadMounts(),
    (properties) => openProperties(options.clusterKey, properties),
  );
  const log = serviceLogger("cache-node").child({ node: options.nodeId });
  const engine = new DataEngine(store, options.pageSize, (mountId) => stores.get(mountId), log);

  const policies = await Policies.open(nc);
  engine.policies = policies;
  const expiry = setInterval(
    () => engine.expire().catch((err) => log.error({ err }, "TTL check failed")),
    options.policyCheckMs ?? DEFAULT_POLICY_CHECK_MS,
  );
  let stopped = false;
  // Pins: what metadata says now, then every change; until metadata answers, the pages found on disk are kept.
  store.setPinned(store.contentIds(), true);
  const subscriptions = [
    subscribe(nc, Events.pinsChanged, ({ pinned, unpinned }) => {
      store.setPinned(pinned, true);
      store.setPinned(unpinned, false);
    }),
    subscribe(nc, Events.free, ({ contentIds }) => {
      store.free(contentIds).catch((err) => log.error({ err }, "cannot free pages"));
    }),
  ];
  const loadingPins = keepTrying(async () => store.resetPinned((await shards.all(Meta.pinned, {})).flatMap((reply) => reply.contentIds)), {
    onFailure: (err, n) => n === 1 && log.warn({ cause: (err as Error).message }, "cannot load pinned contents yet; retrying"),
  });

  const app = buildHttp(engine, log, new DataRequestSigner(options.clusterKey), options.tls);
  // Ready once the heartbeat (started after the port is known) has stored this node's entry.
  let joined: MemberHeartbeat | undefined;
  opsRoutes(app, "", async () => {
    const nats = !nc.isClosed();
    const member = joined?.stored === true;
    return { ready: nats && member, nats, member };
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    // A port in use: nothing opened may keep the process alive.
    loadingPins.stop();
    clearInterval(expiry);
    policies.close();
    await nc.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `${schemeOf(options.tls)}://${options.advertiseHost}:${port}`;

  const stats = (): CacheStats => ({
    nodeId: options.nodeId,
    pages: store.pages,
    usedBytes: store.usedBytes,
    capacityBytes: store.capacityBytes,
    ...engine.counters,
    ...store.counters,
  });
  const unreport = reportMetrics(options.nodeId, stats);
  const control = cacheNode(options.nodeId);
  const responder = new Responder(nc, { onInternalError: (err, subject) => log.error({ err, subject }, "request failed") })
    .on(control.free, ({ contentIds }) => store.free(contentIds))
    .on(control.stats, () => stats())
    .on(control.held, ({ ranges }) => ({ held: ranges.map((r) => engine.holds(r)) }))
    .on(control.drop, async ({ ranges }) => {
      let droppedPages = 0;
      for (const r of ranges) droppedPages += await engine.drop(r);
      return { droppedPages };
    })
    .on(control.load, async ({ ranges }) => ({
      results: await Promise.all(
        ranges.map((r) => engine.load(r).catch((err: Error) => ({ loadedBytes: 0, cachedBytes: 0, error: err.message }))),
      ),
    }));

  let services: Pick<Member, "aisUrl"> = {};
  const member = await MemberHeartbeat.start(nc, () => ({
    id: options.nodeId,
    url,
    ...services,
    capacityBytes: store.capacityBytes,
    usedBytes: store.usedBytes,
  }));
  joined = member;
  const announced = announceService(nc, { role: "cache-node", id: options.nodeId, opsUrl: url, url });
  responder
    .on(control.decommission, () => member.decommission())
    .on(control.leave, async () => {
      await member.stop(true);
      return {};
    });

  return {
    id: options.nodeId,
    url,
    engine,
    stats,
    async advertise(more) {
      services = { ...services, ...more };
      await member.beat();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      unreport();
      loadingPins.stop();
      clearInterval(expiry);
      policies.close();
      await member.stop(true).catch(() => {});
      await announced.stop();
      responder.close();
      for (const s of subscriptions) s.unsubscribe();
      await app.close();
      await engine.drain();
      await nc.drain();
    },
    async abort() {
      if (stopped) return;
      stopped = true;
      unreport();
      loadingPins.stop();
      await member.stop(false);
      await announced.stop(false);
      clearInterval(expiry);
      policies.close();
      app.server.closeAllConnections();
      app.server.close();
      await nc.close();
    },
  };
}
