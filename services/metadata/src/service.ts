import { mkdir } from "node:fs/promises";
import { connect, ensureWorkQueue } from "@koine/bus";
import { startOpsHost } from "@koine/frontend";
import { serviceLogger } from "@koine/log";
import {
  DEFAULT_SWEEP_GRACE_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  enforceTtlsEvery,
  Metadata,
  Namespace,
  reportMetrics,
  Sweeper,
  serveCommits,
  serveMounts,
  serveTree,
  serveUploads,
  serveUsers,
  UfsSync,
  Uploads,
  Users,
} from "@koine/namespace";
import { DEFAULT_BLOCK_SIZE, JOBS_STREAM, JOBS_SUBJECTS } from "@koine/protocol";
import { UfsRegistry } from "@koine/ufs";
import { open } from "lmdb";
import { DEFAULT_SYNC_INTERVAL_MS, DEFAULT_TTL_CHECK_MS, type MetadataOptions } from "./config.ts";

/**
 * LMDB reader slots: one per open read transaction of this process (a
 * listing page holds one while it walks), far above what requests in flight
 * need; LMDB's default is 126.
 */
const MAX_READERS = 1024;

export interface MetadataService {
  /** Where /healthz, /readyz and /metrics are, when served. */
  opsUrl?: string;
  stop(): Promise<void>;
}

/**
 * Starts the metadata service: the namespace, mounts, uploads and users in
 * LMDB, answered over NATS. Namespace changes are mirrored to the
 * under-store, and what is in the under-stores is loaded into the
 * namespace lazily.
 */
export async function start(options: MetadataOptions): Promise<MetadataService> {
  const log = serviceLogger("metadata");
  await mkdir(options.dataDir, { recursive: true });
  const db = open({ path: options.dataDir, maxReaders: MAX_READERS });
  // Slots held by a process that was killed stay taken until someone clears them.
  const staleReaders = db.readerCheck();
  if (staleReaders > 0) log.warn({ staleReaders }, "cleared LMDB reader slots of a dead process");
  const ns = new Namespace(db);
  await ns.init({ id: "root", path: "/", uri: options.rootUfs, readOnly: false });
  const uploads = new Uploads(db, ns);
  const stores = new UfsRegistry(() => ns.mountList());

  const nc = await connect({ servers: options.natsUrl, name: "koine-metadata" });
  await ensureWorkQueue(nc, { stream: JOBS_STREAM, subjects: JOBS_SUBJECTS });
  const sync = new UfsSync(ns, stores, {
    intervalMs: options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
    blockSize: DEFAULT_BLOCK_SIZE,
    onChanged: (paths) => m.changedTrees(...paths),
  });
  const m = new Metadata(ns, stores, sync, nc, log);
  const { deletePath } = serveTree(m);
  const { commitWritten, requeue } = serveCommits(m);
  serveMounts(m);
  serveUsers(m, new Users(db));
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
  const ops = options.ops && (await startOpsHost(log, options.ops, async () => ({ ready: !nc.isClosed(), nats: !nc.isClosed() })));
  return {
    ...(ops ? { opsUrl: ops.url } : {}),
    async stop() {
      unreport();
      await ops?.close();
      await ttls.stop();
      await sweeper.stop();
      m.close();
      await nc.drain();
      await db.close();
    },
  };
}
