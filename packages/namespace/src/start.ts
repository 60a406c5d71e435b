import { mkdir } from "node:fs/promises";
import { type ClusterKey, openProperties } from "@koine/access";
import { connectService, ensureWorkQueue, type NatsConnection } from "@koine/bus";
import { serviceLogger } from "@koine/log";
import { DEFAULT_BLOCK_SIZE, JOBS_STREAM, JOBS_SUBJECTS, type PutUserRequest } from "@koine/protocol";
import { UfsRegistry } from "@koine/ufs";
import { open } from "lmdb";
import { serveCommits } from "./commits.ts";
import { Metadata } from "./context.ts";
import { JournaledChanges } from "./journaled.ts";
import { reportMetrics } from "./metrics.ts";
import { serveMounts } from "./mounts.ts";
import { Namespace } from "./namespace.ts";
import { DEFAULT_SWEEP_GRACE_MS, DEFAULT_SWEEP_INTERVAL_MS, Sweeper, type SweepOptions } from "./sweeper.ts";
import { UfsSync } from "./sync.ts";
import { serveTree } from "./tree.ts";
import { enforceTtlsEvery } from "./ttl.ts";
import { serveUploads, Uploads } from "./uploads.ts";
import { serveUsers, Users } from "./users.ts";

export const DEFAULT_SYNC_INTERVAL_MS = 30_000;
export const DEFAULT_TTL_CHECK_MS = 5_000;

/**
 * LMDB reader slots: one per open read transaction of this process (a
 * listing page holds one while it walks), far above what requests in flight
 * need; LMDB's default is 126.
 */
const MAX_READERS = 1024;

export interface NamespaceOptions {
  /** NATS server URL(s). */
  natsUrl: string;
  /** Directory of the LMDB files. */
  dataDir: string;
  /** URI of the under-store mounted at "/". */
  rootUfs: string;
  /** How old namespace entries may get before they are compared with the under-store again (-1: never). @default 30 s */
  syncIntervalMs?: number;
  /** How often times to live are checked. @default 5 s */
  ttlCheckMs?: number;
  /** How often the under-stores are swept, and how old a staged write must be to go. @default 10 min, 1 h */
  sweep?: SweepOptions;
  /** The key users' secrets are sealed with. */
  clusterKey: ClusterKey;
  /** CA certificates a NATS server that speaks TLS is checked against. */
  natsCa?: Buffer | undefined;
  /** Directories below which local directories may be mounted. @default none */
  mountRoots?: readonly string[];
  /** Users put at every start (the operator's settings win over earlier changes). */
  users?: readonly PutUserRequest[];
}

export interface ServedNamespace {
  nc: NatsConnection;
  stop(): Promise<void>;
}

/**
 * Serves the namespace: mounts, uploads and users in LMDB, each concern
 * answering its `koine.meta.*` requests over NATS. Namespace changes are
 * journaled on JetStream before they are made (and replayed from it at
 * start), mirrored to the under-store, and what is in the under-stores is
 * loaded into the namespace lazily.
 */
export async function serveNamespace(options: NamespaceOptions): Promise<ServedNamespace> {
  const log = serviceLogger("metadata");
  await mkdir(options.dataDir, { recursive: true });
  const db = open({ path: options.dataDir, maxReaders: MAX_READERS });
  // Slots held by a process that was killed stay taken until someone clears them.
  const staleReaders = db.readerCheck();
  if (staleReaders > 0) log.warn({ staleReaders }, "cleared LMDB reader slots of a dead process");
  const local = new Namespace(db);
  await local.init({ id: "root", path: "/", uri: options.rootUfs, readOnly: false });
  const nc = await connectService({ servers: options.natsUrl, role: "metadata", clusterKey: options.clusterKey, ca: options.natsCa });
  await ensureWorkQueue(nc, { stream: JOBS_STREAM, subjects: JOBS_SUBJECTS });
  // Every change goes through the journal; what it holds beyond this LMDB is replayed first.
  const ns = (await JournaledChanges.open(local, nc, log)).namespace();
  const uploads = new Uploads(db, ns);
  const stores = new UfsRegistry(
    () => ns.mountList(),
    (properties) => openProperties(options.clusterKey, properties),
  );

  const sync = new UfsSync(ns, stores, {
    intervalMs: options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
    blockSize: DEFAULT_BLOCK_SIZE,
    onChanged: (paths) => m.changedTrees(...paths),
  });
  const m = new Metadata(ns, stores, sync, nc, log);
  const { deletePath } = serveTree(m);
  const { commitWritten, requeue } = serveCommits(m);
  serveMounts(m, options.mountRoots ?? [], options.clusterKey);
  await serveUsers(m, new Users(db, options.clusterKey), options.users ?? []);
  serveUploads(m, uploads, commitWritten);
  const ttls = enforceTtlsEvery(m, deletePath, options.ttlCheckMs ?? DEFAULT_TTL_CHECK_MS);
  const sweeper = new Sweeper(
    stores,
    () => ns.mountList(),
    (uploadId) => uploads.uploads.get(uploadId) !== undefined,
    log,
    {
      intervalMs: options.sweep?.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
      graceMs: options.sweep?.graceMs ?? DEFAULT_SWEEP_GRACE_MS,
    },
  );
  sweeper.start();
  await requeue();

  await nc.flush();
  const unreport = reportMetrics(ns, options.dataDir);
  return {
    nc,
    async stop() {
      unreport();
      await ttls.stop();
      await sweeper.stop();
      m.close();
      await nc.drain();
      await db.close();
    },
  };
}
