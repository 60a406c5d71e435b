import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type ClusterKey, loadClusterKey, natsUsers } from "@koine/access";
import * as ais from "@koine/ais-gateway";
import * as admin from "@koine/alluxio-admin";
import type { AlluxioProxyOptions } from "@koine/alluxio-proxy";
import * as alluxio from "@koine/alluxio-proxy";
import { type NatsServer, type NatsTls, startNatsServer } from "@koine/bus";
import * as cacheNode from "@koine/cache-node";
import type { Tls } from "@koine/config";
import * as consoleService from "@koine/console";
import * as jobRunner from "@koine/job-runner";
import * as metadata from "@koine/metadata";
import { parseUsers } from "@koine/namespace";
import type { OzoneAuthMode } from "@koine/ozone";
import * as ozone from "@koine/ozone-gateway";
import type { PutUserRequest } from "@koine/protocol";
import { type AuthMode, DEFAULT_BODY_IDLE_TIMEOUT_MS } from "@koine/s3";
import * as s3 from "@koine/s3-gateway";

export interface LocalClusterOptions {
  /** Everything lives below: nats/, metadata/, ufs/, cache/<node>/. */
  home: string;
  /** Use this NATS server instead of starting one. */
  natsUrl?: string;
  /** Port of the nats-server started here (0: a free one). @default 4222 */
  natsPort?: number;
  /** @default 1 */
  cacheNodes?: number;
  /** Port of the first cache node, +1 for each next (0: free ports). @default 29999 */
  cachePort?: number;
  cacheCapacityBytes?: number;
  /** Hot pages kept in memory too, per node. @default 256 MiB */
  cacheMemoryBytes?: number;
  pageSize?: number;
  blockSize?: number;
  /** @default 9000 */
  s3Port?: number;
  /** Processes serving the S3 port (the others read the cache nodes' page files themselves). @default 1 */
  s3Workers?: number;
  /** @default 39999 */
  alluxioPort?: number;
  /** @default 19999 */
  adminPort?: number;
  /** @default 19990 */
  consolePort?: number;
  /** @default 8080 */
  aisPort?: number;
  /** The Ozone REST API. @default 9880 */
  ozonePort?: number;
  /** Ozone's /serviceList (an Ozone manager's HTTP port). @default 9874 */
  ozoneOmPort?: number;
  /** How the Ozone gateway takes "Authorization: OZONE <user>"; Ozone admins and groups of SIMPLE mode. @default { auth: "koine" } */
  ozone?: { auth: OzoneAuthMode; admins?: string[]; groups?: Map<string, string[]> };
  /** Idle time and open-stream limits of the Alluxio streams API. */
  alluxioStreams?: AlluxioProxyOptions["streams"];
  /** Admin API endpoints switched off (they answer 501). */
  adminDisabled?: string[];
  /** Users put at start; the first an admin. @default koine / koinesecret, an admin */
  users?: PutUserRequest[];
  /** The key every service shares. @default <home>/cluster.key, made at first start */
  clusterKey?: ClusterKey;
  /** Directories below which admins may mount local directories. @default [<home>/mounts] */
  mountRoots?: string[];
  /** The address every HTTP port listens on (an operator's choice to open them wider). @default "127.0.0.1" */
  bindHost?: string;
  /** HTTPS on every endpoint (the cache nodes' too) with this certificate, which must name 127.0.0.1. */
  tls?: Tls;
  /** How the Alluxio paths and streams API takes its callers. @default "koine" */
  alluxioAuth?: AuthMode;
  /** Domains for virtual-hosted-style S3 requests. @default ["localhost"] */
  s3Domains?: string[];
  bodyIdleTimeoutMs?: number;
  /** Reach the cache nodes over HTTP even within this process (as separate hosts would). */
  remoteCacheNodes?: boolean;
  /** How old namespace entries may get before they are compared with the under-store again. */
  syncIntervalMs?: number;
  /** How often times to live are checked. */
  ttlCheckMs?: number;
  /** How often metadata sweeps the under-stores of staged leftovers, and their age to go. */
  sweep?: metadata.MetadataOptions["sweep"];
  /** How often cache nodes check cached contents against their TTL policies. */
  policyCheckMs?: number;
  /** Start the job runner (false: jobs wait in the queue). @default true */
  jobRunner?: boolean;
}

export interface LocalCluster {
  natsUrl: string;
  s3Url: string;
  /** The Alluxio proxy (paths, streams, and S3 under /api/v1/s3). */
  alluxioUrl: string;
  /** The admin API (jobs, nodes, mounts). */
  adminUrl: string;
  /** The web console. */
  consoleUrl: string;
  /** The AIS gateway. */
  aisUrl: string;
  /** The Ozone gateway (REST API), and its /serviceList port. */
  ozoneUrl: string;
  ozoneOmUrl: string;
  home: string;
  /** The key the services share (their NATS passwords come from it). */
  clusterKey: ClusterKey;
  nats: NatsServer | undefined;
  cacheNodes: cacheNode.CacheNode[];
  stop(): Promise<void>;
}

/** The certificate and key as files for nats-server (which reads them from disk), readable by their owner only. */
async function natsTlsFiles(home: string, tls: Tls): Promise<NatsTls> {
  const dir = join(home, "nats-tls");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") };
  await writeFile(files.certFile, tls.cert, { mode: 0o600 });
  await writeFile(files.keyFile, tls.key, { mode: 0o600 });
  return files;
}

/** How long one service may take to stop (a front-end gives its requests 5 s). */
const SERVICE_STOP_MS = 10_000;

/** Starts every service of koine in this process. */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const stops: [name: string, stop: () => Promise<void>][] = [];
  // Each service stops in turn, newest first; one that cannot finish (its NATS server already gone, say) is left
  // behind after a while, so that the rest still stop.
  const stopAll = async () => {
    for (const [name, stop] of stops.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const given = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          console.error(`koine: ${name} did not stop within ${SERVICE_STOP_MS / 1000} s; going on`);
          resolve();
        }, SERVICE_STOP_MS);
      });
      await Promise.race([stop().catch((err) => console.error(`koine: ${name} failed to stop`, err)), given]);
      clearTimeout(timer);
    }
  };
  try {
    const clusterKey = options.clusterKey ?? loadClusterKey(undefined, join(options.home, "cluster.key"));
    let nats: NatsServer | undefined;
    let natsUrl = options.natsUrl;
    if (!natsUrl) {
      // Each service its own NATS user, with only the subjects its role needs; TLS when the HTTP ports have it.
      nats = await startNatsServer({
        storeDir: join(options.home, "nats"),
        port: options.natsPort ?? 4222,
        users: natsUsers(clusterKey),
        ...(options.tls ? { tls: await natsTlsFiles(options.home, options.tls) } : {}),
      });
      stops.push(["nats-server", () => (nats as NatsServer).stop()]);
      natsUrl = nats.url;
    }
    // Where admins may bring local files in from: mounts (metadata) and AIS promote (cache nodes).
    const mountRoots = options.mountRoots ?? [join(options.home, "mounts")];
    const meta = await metadata.start({
      natsUrl,
      tls: options.tls,
      clusterKey,
      users: options.users ?? parseUsers({}),
      mountRoots,
      dataDir: join(options.home, "metadata"),
      rootUfs: pathToFileURL(join(options.home, "ufs")).href,
      ...(options.syncIntervalMs === undefined ? {} : { syncIntervalMs: options.syncIntervalMs }),
      ...(options.ttlCheckMs === undefined ? {} : { ttlCheckMs: options.ttlCheckMs }),
      ...(options.sweep === undefined ? {} : { sweep: options.sweep }),
    });
    stops.push(["metadata", () => meta.stop()]);

    const nodes: cacheNode.CacheNode[] = [];
    const basePort = options.cachePort ?? cacheNode.DEFAULT_PORT;
    for (let i = 0; i < (options.cacheNodes ?? 1); i++) {
      const nodeId = `node${i}`;
      const node = await cacheNode.start({
        natsUrl,
        clusterKey,
        tls: options.tls,
        nodeId,
        dataDir: join(options.home, "cache", nodeId),
        host: options.bindHost ?? "127.0.0.1",
        port: basePort === 0 ? 0 : basePort + i,
        advertiseHost: "127.0.0.1",
        capacityBytes: options.cacheCapacityBytes ?? cacheNode.DEFAULT_CAPACITY_BYTES,
        memoryBytes: options.cacheMemoryBytes ?? cacheNode.DEFAULT_MEMORY_BYTES,
        pageSize: options.pageSize ?? cacheNode.DEFAULT_PAGE_SIZE,
        localRoots: mountRoots,
        ...(options.policyCheckMs === undefined ? {} : { policyCheckMs: options.policyCheckMs }),
      });
      nodes.push(node);
      stops.push([`cache node ${nodeId}`, () => node.stop()]);
    }

    const localNodes = options.remoteCacheNodes ? new Map() : new Map(nodes.map((n) => [n.id, n.engine] as const));
    if (options.jobRunner !== false) {
      const runner = await jobRunner.start({ natsUrl, clusterKey, tls: options.tls, localNodes });
      stops.push(["job runner", () => runner.stop()]);
    }

    // What every front-end is given: NATS, the key, TLS, the address, and the cache nodes of this process.
    const frontEnd = { natsUrl, clusterKey, tls: options.tls, host: options.bindHost ?? "127.0.0.1" };
    const dataFrontEnd = { ...frontEnd, localNodes, ...(options.blockSize ? { blockSize: options.blockSize } : {}) };
    // The gateway's workers, in processes of their own, read the page files of this process's cache nodes.
    const localPages = new Map(
      options.remoteCacheNodes ? [] : nodes.map((n) => [n.id, { dir: n.engine.store.dir, pageSize: n.engine.pageSize }] as const),
    );
    const gateway = await s3.start({
      ...dataFrontEnd,
      localPages,
      workers: options.s3Workers ?? 1,
      port: options.s3Port ?? s3.DEFAULT_PORT,
      region: "us-east-1",
      bodyIdleTimeoutMs: options.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS,
      ...(options.s3Domains ? { virtualHostDomains: options.s3Domains } : {}),
    });
    stops.push(["S3 gateway", () => gateway.stop()]);

    const proxy = await alluxio.start({
      ...dataFrontEnd,
      port: options.alluxioPort ?? alluxio.DEFAULT_PORT,
      authMode: options.alluxioAuth ?? "koine",
      ...(options.alluxioStreams ? { streams: options.alluxioStreams } : {}),
    });
    stops.push(["Alluxio proxy", () => proxy.stop()]);

    const adminApi = await admin.start({
      ...frontEnd,
      port: options.adminPort ?? admin.DEFAULT_PORT,
      disabled: options.adminDisabled ?? [],
    });
    stops.push(["admin API", () => adminApi.stop()]);

    const webConsole = await consoleService.start({ ...frontEnd, port: options.consolePort ?? consoleService.DEFAULT_PORT });
    stops.push(["web console", () => webConsole.stop()]);

    const aisGateway = await ais.start({ ...dataFrontEnd, port: options.aisPort ?? ais.DEFAULT_PORT });
    stops.push(["AIS gateway", () => aisGateway.stop()]);

    const ozoneGateway = await ozone.start({
      ...dataFrontEnd,
      port: options.ozonePort ?? ozone.DEFAULT_PORT,
      omPort: options.ozoneOmPort ?? ozone.DEFAULT_OM_PORT,
      auth: options.ozone?.auth ?? "koine",
      admins: options.ozone?.admins ?? [],
      groups: options.ozone?.groups ?? new Map(),
    });
    stops.push(["Ozone gateway", () => ozoneGateway.stop()]);

    return {
      natsUrl,
      s3Url: gateway.url,
      alluxioUrl: proxy.url,
      adminUrl: adminApi.url,
      consoleUrl: webConsole.url,
      aisUrl: aisGateway.url,
      ozoneUrl: ozoneGateway.url,
      ozoneOmUrl: ozoneGateway.omUrl,
      home: options.home,
      clusterKey,
      nats,
      cacheNodes: nodes,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
