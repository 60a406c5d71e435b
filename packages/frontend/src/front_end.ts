import type { AddressInfo, Server } from "node:net";
import { hostname } from "node:os";
import type { ClusterKey } from "@koine/access";
import { announceService, connectService } from "@koine/bus";
import { type DataNode, FileSystemClient, type LocalPages } from "@koine/client";
import type { Tls } from "@koine/config";
import { serviceLogger } from "@koine/log";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { opsRoutes, readiness } from "./health.ts";
import { httpHost, schemeOf } from "./host.ts";
import { UserDirectory } from "./users.ts";
import { type FrontEndWorkers, forkWorkers } from "./workers.ts";

/** How long a stopping front-end lets in-flight requests finish. */
const STOP_GRACE_MS = 5_000;

export interface FrontEndOptions {
  /** Which front-end: its NATS user, the name its connection and logs go by. */
  role: "s3-gateway" | "alluxio-proxy" | "alluxio-admin" | "ais-gateway" | "ais-target" | "ozone-gateway" | "console";
  natsUrl: string;
  /** Opens the users' sealed secrets. */
  clusterKey: ClusterKey;
  host: string;
  port: number;
  /** HTTPS with this certificate (and calls to cache nodes trusting its CA). */
  tls?: Tls | undefined;
  localNodes?: ReadonlyMap<string, DataNode>;
  /** Cache nodes on this host in other processes, whose page files this front-end reads itself. */
  localPages?: ReadonlyMap<string, LocalPages>;
  blockSize?: number;
  /** Where `/healthz`, `/readyz` and `/metrics` are: "" (the default), or "/_koine" where a dialect owns every path (S3). */
  opsPrefix?: string;
  /** Answers requests too malformed to route, in the dialect's own words (default: node's plain 400). */
  clientErrorHandler?: (err: Error & { code?: string }, socket: import("node:net").Socket) => void;
  /** Answers requests fastify cannot route (a path whose escapes are not UTF-8), in the dialect's own words. */
  frameworkErrors?: FastifyServerOptions["frameworkErrors"];
  /**
   * More processes serving the same port: `count` workers, each running
   * `entry` (which calls `serveAsWorker` with the service's start) with
   * `options` (what can cross to another process: no `localNodes`).
   */
  workers?: { count: number; entry: URL; options: object } | undefined;
  /** The socket of the process that started this one as a worker: accept on it instead of listening on `port`. */
  inheritedSocket?: Server | undefined;
}

export interface FrontEnd {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** What a front-end's dialects are given: the shared client and the users they authenticate. */
export interface FrontEndDeps {
  client: FileSystemClient;
  identities: UserDirectory;
}

/**
 * Starts an HTTP front-end: a NATS connection, the shared file-system
 * client, the user directory and a fastify server on which `register`
 * mounts the dialect plugins (and opens what else they need, closed by an
 * onClose hook).
 */
export async function startFrontEnd(
  options: FrontEndOptions,
  register: (app: FastifyInstance, deps: FrontEndDeps) => Promise<void>,
): Promise<FrontEnd> {
  const log = serviceLogger(options.role);
  const nc = await connectService({ servers: options.natsUrl, role: options.role, clusterKey: options.clusterKey, ca: options.tls?.ca });
  const client = await FileSystemClient.open({
    nc,
    clusterKey: options.clusterKey,
    tlsCa: options.tls?.ca,
    ...(options.localNodes ? { localNodes: options.localNodes } : {}),
    ...(options.localPages ? { localPages: options.localPages } : {}),
    ...(options.blockSize ? { blockSize: options.blockSize } : {}),
  });
  const app = httpHost(log, {
    tls: options.tls,
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 4096 },
    return503OnClosing: false,
    ...(options.clientErrorHandler ? { clientErrorHandler: options.clientErrorHandler } : {}),
    ...(options.frameworkErrors ? { frameworkErrors: options.frameworkErrors } : {}),
  });
  let workers: FrontEndWorkers | undefined;
  try {
    opsRoutes(app, options.opsPrefix ?? "", () => readiness(client));
    const identities = await UserDirectory.open(nc, options.clusterKey);
    app.addHook("onClose", async () => identities.close());
    await register(app, { client, identities });
    const inherited = options.inheritedSocket;
    if (inherited) {
      // A worker accepts on its first process's socket (node's `listen(handle)`; fastify's listen takes an address only).
      await app.ready();
      await new Promise<void>((resolve, reject) => {
        app.server.once("error", reject);
        app.server.listen(inherited, resolve);
      });
    } else {
      await app.listen({ host: options.host, port: options.port });
    }
    if (options.workers && options.workers.count > 1) {
      workers = await forkWorkers({ ...options.workers, count: options.workers.count - 1 }, app.server, log);
    }
  } catch (err) {
    // Nothing it opened may keep the process alive: a port in use, a plugin that failed.
    await app.close().catch(() => {});
    await client.close();
    await nc.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `${schemeOf(options.tls)}://127.0.0.1:${port}`;
  // A worker serves its first process's port: that one is the service.
  const announced = options.inheritedSocket
    ? undefined
    : announceService(nc, { role: options.role, id: `${hostname()}-${port}`, url, opsUrl: `${url}${options.opsPrefix ?? ""}` });
  return {
    url,
    port,
    async stop() {
      await announced?.stop();
      // In-flight requests may finish; a client that stopped reading its response is cut off after a grace period.
      await workers?.stop();
      const cutOff = setTimeout(() => app.server.closeAllConnections(), STOP_GRACE_MS);
      await app.close();
      clearTimeout(cutOff);
      await client.close();
      await nc.drain();
    },
  };
}
