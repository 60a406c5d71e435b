import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ClusterKey, openProperties } from "@koine/access";
import {
  connectService,
  DEFAULT_LEASE_TTL_MS,
  ensureWorkQueue,
  JournalTrimmedError,
  Lease,
  type NatsConnection,
  SnapshotStore,
  stepDownStreamLeader,
  streamLeadership,
} from "@koine/bus";
import { type Logger, serviceLogger } from "@koine/log";
import {
  DEFAULT_BLOCK_SIZE,
  ErrorCode,
  JOBS_STREAM,
  JOBS_SUBJECTS,
  journalOf,
  KoineError,
  METADATA_LEASES,
  METADATA_REPLICA_TTL_MS,
  METADATA_SNAPSHOTS,
  type PutUserRequest,
  rendezvousOrder,
  shardOf,
  shardOfUpload,
  snapshotPrefix,
} from "@koine/protocol";
import { UfsRegistry } from "@koine/ufs";
import { open, type RootDatabase } from "lmdb";
import { serveCommits } from "./commits.ts";
import { type CrashPoint, Metadata, type Shard } from "./context.ts";
import { Intents } from "./intents.ts";
import { JournaledChanges } from "./journaled.ts";
import { reportMetrics } from "./metrics.ts";
import { serveMounts } from "./mounts.ts";
import { MAX_DATABASES, Namespace } from "./namespace.ts";
import { ReplicaPresence } from "./replicas.ts";
import { installSnapshot, Snapshotter } from "./snapshots.ts";
import { DEFAULT_SWEEP_GRACE_MS, DEFAULT_SWEEP_INTERVAL_MS, Sweeper, type SweepOptions } from "./sweeper.ts";
import { UfsSync } from "./sync.ts";
import { serveTree } from "./tree.ts";
import { enforceTtlsEvery } from "./ttl.ts";
import { serveUploads, Uploads } from "./uploads.ts";
import { serveUsers, Users } from "./users.ts";
import { serveVersions, Versions } from "./versions.ts";

export const DEFAULT_SYNC_INTERVAL_MS = 30_000;
export const DEFAULT_TTL_CHECK_MS = 5_000;
/** Journal records between two snapshots of the namespace. */
export const DEFAULT_SNAPSHOT_EVERY_RECORDS = 100_000;

/** Replicas of a shard heard from within this long are there to lead it (two heartbeats missed: gone). */
const PLACEMENT_PRESENT_MS = 2_000;
/** How long a replica lets each replica it ranks behind (for a shard's lead) take a free lease first. */
const PLACEMENT_PATIENCE_MS = 1_000;
/** How long a leader leads before it hands a shard to the replica that ranks first for it. */
const PLACEMENT_SETTLE_MS = 5_000;
/** How often a leader looks whether the streams it needs are led by its own NATS server. */
const STREAMS_ELSEWHERE_EVERY_MS = 1_000;
/** How long a stream must have been led from this server, every replica current, before its lead is moved. */
const STREAMS_SETTLED_MS = 3_000;
/** How far behind the leader a replica may be and be handed the lead (it catches up before it answers). */
const PLACEMENT_LAG_RECORDS = 1_000;

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
  /** Journal records between two snapshots (the journal is trimmed behind them). @default 100 000 */
  snapshotEveryRecords?: number;
  /** Which shard of the namespace this serves, of how many (its LMDB in `dataDir`/shard-<index> but for shard 0). @default 0 of 1 */
  shard?: Shard;
  /** Tests only: where this replica kills itself, between the two sides of a change. */
  crashAt?: CrashPoint | undefined;
  /** Users put at every start (the operator's settings win over earlier changes). */
  users?: readonly PutUserRequest[];
}

export interface ServedNamespace {
  nc: NatsConnection;
  /** This replica's id (the same for each shard it serves). */
  replica: string;
  stop(): Promise<void>;
}

/**
 * Serves the namespace: mounts, uploads and users in LMDB, each concern
 * answering its `koine.meta.*` requests over NATS. Every change is
 * journaled on JetStream before it is made; of the metadata replicas, the
 * one holding the lease leads (answers requests, appends to the journal,
 * owns the under-store side effects) and the others follow the journal
 * into their own LMDB, ready to take over. What is in the under-stores is
 * loaded into the namespace lazily.
 */
export async function serveNamespace(options: NamespaceOptions): Promise<ServedNamespace> {
  const shard = options.shard ?? { index: 0, count: 1 };
  const sharded = shard.count > 1;
  const log = sharded ? serviceLogger("metadata").child({ shard: shard.index }) : serviceLogger("metadata");
  await mkdir(options.dataDir, { recursive: true });
  const dataDir = shard.index === 0 ? options.dataDir : join(options.dataDir, `shard-${shard.index}`);
  // The servers in the order listed: a deployment lists the metadata host's own first (see keepStreamsElsewhere).
  const nc = await connectService({
    servers: options.natsUrl,
    role: "metadata",
    clusterKey: options.clusterKey,
    ca: options.natsCa,
    inOrder: true,
  });
  await ensureWorkQueue(nc, { stream: JOBS_STREAM, subjects: JOBS_SUBJECTS });
  // One name a process, whichever shards it serves.
  const replica = await replicaId(options.dataDir);
  const journal = journalOf(shard.index);
  const snapshots = await SnapshotStore.open(nc, METADATA_SNAPSHOTS, snapshotPrefix(shard.index));
  /** Of this shard's replicas there now, this one's place in the order they should lead it (0: first). */
  const rank = () => {
    const there = presence.others(PLACEMENT_PRESENT_MS).map((other) => other.replica);
    return rendezvousOrder(shard.index, [replica, ...there]).indexOf(replica);
  };
  const lease = await Lease.open(nc, {
    bucket: METADATA_LEASES,
    key: journal.stream,
    holder: replica,
    log,
    // With shards, leaders spread over the replicas by rendezvous hashing: each waits for those it ranks behind.
    patienceMs: () => (sharded ? rank() * PLACEMENT_PATIENCE_MS : 0),
    // A lease that expired under this leader (JetStream electing for longer than its TTL) is kept if nobody led meanwhile.
    undisturbed: () => state.changes.untouchedByOthers(),
  });

  /** This replica's LMDB and what works on it, caught up with the journal (from a snapshot when the journal was trimmed behind it). */
  const openState = async (): Promise<ReplicaState> => {
    for (;;) {
      const { db, local } = await openNamespace(dataDir, options.rootUfs, log);
      const changes = await JournaledChanges.open(local, nc, replica, log, journal);
      changes.appendWhile(
        () => mayServe(),
        () => lease.renew(),
      );
      // Every change goes through the journal.
      const ns = changes.namespace();
      // They define their changes, which the journal may hold.
      const uploads = new Uploads(db, ns, shard.index);
      const users = new Users(db, ns, options.clusterKey);
      const intents = new Intents(db, ns);
      try {
        await changes.catchUp();
      } catch (err) {
        await db.close();
        if (!(err instanceof JournalTrimmedError)) throw err;
        const started = performance.now();
        const snapshot = await installSnapshot(dataDir, snapshots, shard.index).catch((e) => {
          log.error({ err: e }, "cannot load a snapshot; trying again in 5 s");
        });
        if (snapshot)
          log.info({ seq: snapshot.seq, bytes: snapshot.bytes, ms: Math.round(performance.now() - started) }, "loaded a snapshot");
        else await sleep(5_000);
        continue;
      }
      const unreport = reportMetrics(shard.index, ns, dataDir, () => leading !== undefined && !paused);
      return {
        db,
        local,
        changes,
        ns,
        uploads,
        users,
        intents,
        async close() {
          unreport();
          await db.close();
        },
      };
    }
  };
  /** Loads a snapshot: the journal was trimmed past this replica. Until a state opens, there is none to read from. */
  const reload = async () => {
    reloading = true;
    await state.close();
    for (;;) {
      try {
        state = await openState();
        break;
      } catch (err) {
        log.error({ err }, "cannot open this replica's namespace again; trying again in 5 s");
        await sleep(5_000);
      }
    }
    reloading = false;
  };
  const stores = new UfsRegistry(
    () => state.ns.mountList(),
    (properties) => openProperties(options.clusterKey, properties),
  );

  /** Answers requests until stopped (or paused: this replica may no longer lead). */
  const lead = async (): Promise<Leading> => {
    const { ns, uploads, users, intents } = state;
    const sync = new UfsSync(ns, stores, {
      intervalMs: options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
      blockSize: DEFAULT_BLOCK_SIZE,
      onChanged: (paths) => m.changedTrees(...paths),
      owns: (name) => shardOf(name, shard.count) === shard.index,
    });
    checkShardCount(state.local, shard.count);
    if (state.local.shardCount() === undefined) await ns.recordShards(shard.count);
    const m = new Metadata(ns, stores, sync, nc, log, { intents, shard, crashAt: options.crashAt });
    // What a leader that died left half done is brought in step with the under-stores before anything is answered.
    const versions = new Versions(m);
    await intents.resolve(sync, log, (moves) => versions.settle(moves));
    const { deletePath } = serveTree(m);
    const { commitWritten, requeue } = serveCommits(m, versions);
    serveVersions(m, versions, (path) => deletePath({ path, fileOnly: true, pruneImplicitParents: true }));
    serveMounts(m, options.mountRoots ?? [], options.clusterKey);
    // Users are shard 0's.
    if (shard.index === 0) await serveUsers(m, users, options.users ?? []);
    serveUploads(m, uploads, commitWritten);
    const ttls = enforceTtlsEvery(m, deletePath, options.ttlCheckMs ?? DEFAULT_TTL_CHECK_MS);
    const sweeper = new Sweeper(
      stores,
      () => ns.mountList(),
      // Uploads of other shards (their staging shares the root's under-store) are theirs to sweep.
      (uploadId) => shardOfUpload(uploadId, shard.count) !== shard.index || uploads.uploads.get(uploadId) !== undefined,
      log,
      {
        intervalMs: options.sweep?.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
        graceMs: options.sweep?.graceMs ?? DEFAULT_SWEEP_GRACE_MS,
      },
    );
    sweeper.start();
    const snapshotter = new Snapshotter({
      shard: shard.index,
      db: state.db,
      dataDir,
      store: snapshots,
      everyRecords: options.snapshotEveryRecords ?? DEFAULT_SNAPSHOT_EVERY_RECORDS,
      appliedSeq: () => state.local.journalPosition()?.seq ?? 0,
      neededSeqs: () => presence.others(METADATA_REPLICA_TTL_MS).map((other) => other.appliedSeq),
      trim: (before) => state.changes.trim(before),
      log,
    });
    const streamsElsewhere = keepStreamsElsewhere(nc, [journal.stream, `KV_${METADATA_LEASES}`], () => lease.confirmed && !paused, log);
    await requeue();
    await nc.flush();
    // Cache nodes ask again which contents are pinned: a standby heard none of the changes.
    m.publishPins();
    return {
      pause: () => m.pause(),
      resume: () => m.resume(),
      async stop() {
        m.close();
        clearInterval(streamsElsewhere);
        await ttls.stop();
        await sweeper.stop();
        await snapshotter.stop();
      },
    };
  };

  let following: { stop(): Promise<void> } | undefined;
  let leading: Leading | undefined;
  let stopping = false;
  let paused = false;
  let reloading = false;
  const startedMs = Date.now();
  let state = await openState();
  checkShardCount(state.local, shard.count);
  const presence = new ReplicaPresence(
    nc,
    () => ({
      replica,
      shard: shard.index,
      leads: leading !== undefined && !paused,
      appliedSeq: reloading ? 0 : (state.local.journalPosition()?.seq ?? 0),
      appliedStoredMs: reloading ? 0 : state.changes.appliedStoredMs,
      startedMs,
    }),
    () => {
      guard();
      handOffWhenPlaced();
    },
  );
  /** Another replica is there to take over: a lapsed lease may be someone else's by now. */
  const othersThere = () => presence.others(2 * DEFAULT_LEASE_TTL_MS).length > 0;
  /** A leader whose lease lapsed stops answering (and appending) once another replica could have taken over. */
  const mayServe = () => lease.confirmed || (lease.held && !othersThere());
  const guard = () => {
    if (leading && !paused && !mayServe()) {
      paused = true;
      leading.pause();
      log.warn({ replica }, "cannot renew its lease while other replicas are there: not answering until it can");
    }
  };
  let leadingSince = 0;
  let handingOff = false;
  /**
   * With shards, a leader hands the shard to the replica that ranks first
   * for it once that one is there and has applied the journal nearly as far
   * (a replica that started later, or came back).
   */
  const handOffWhenPlaced = () => {
    if (!sharded || !leading || paused || handingOff || Date.now() - leadingSince < PLACEMENT_SETTLE_MS) return;
    const applied = state.local.journalPosition()?.seq ?? 0;
    const ready = presence.others(PLACEMENT_PRESENT_MS).filter((o) => applied - o.appliedSeq <= PLACEMENT_LAG_RECORDS);
    const first = rendezvousOrder(shard.index, [replica, ...ready.map((o) => o.replica)])[0];
    if (first === replica) return;
    handingOff = true;
    log.info({ replica, to: first }, "hands the shard's lead to the replica that ranks first for it");
    void lease.handOff().finally(() => {
      handingOff = false;
    });
  };
  /** Lease changes and snapshot loads, one at a time. */
  let transitions = Promise.resolve();
  const serially = (work: () => Promise<void>) => {
    transitions = transitions.then(work).catch((err) => log.error({ err }, "metadata replica transition failed"));
    return transitions;
  };
  const follow = () => {
    following = state.changes.follow(() => {
      void serially(async () => {
        if (stopping || leading) return;
        following = undefined;
        await reload();
        if (!stopping && !leading) follow();
      });
    });
  };
  await lease.start({
    gained: () =>
      serially(async () => {
        const took = performance.now();
        await following?.stop();
        following = undefined;
        const followed = performance.now();
        // What the last leader appended is applied before this one answers (JetStream may be electing leaders).
        for (let attempt = 1; lease.held; attempt++) {
          try {
            await state.changes.catchUp();
            const caughtUp = performance.now();
            leading = await lead();
            leadingSince = Date.now();
            const ms = (from: number, to: number) => Math.round(to - from);
            log.info(
              { replica, stopFollowingMs: ms(took, followed), catchUpMs: ms(followed, caughtUp), startMs: ms(caughtUp, performance.now()) },
              "leads the namespace",
            );
            return;
          } catch (err) {
            if (err instanceof JournalTrimmedError) await reload();
            else if (attempt === 1) log.warn({ err }, "cannot take the lead yet; trying again");
            await sleep(500);
          }
        }
      }),
    // Another replica may lead by now: this one must not answer from what may be an old state until it knows.
    lapsed: async () => guard(),
    confirmed: async () => {
      if (!paused) return;
      paused = false;
      leading?.resume();
      log.info({ replica }, "renewed its lease: answering again");
    },
    lost: () =>
      serially(async () => {
        await leading?.stop();
        leading = undefined;
        paused = false;
        if (stopping) return;
        await state.changes.settled();
        follow();
        log.warn({ replica }, "follows the namespace's journal (another replica leads)");
      }),
  });
  if (!lease.held) {
    await serially(async () => {
      if (!leading && !following) follow();
    });
    log.info({ replica, leader: await lease.holder().catch(() => undefined) }, "follows the namespace's journal");
  }

  return {
    nc,
    replica,
    async stop() {
      stopping = true;
      presence.stop();
      await lease.stop();
      await transitions;
      await following?.stop();
      await nc.drain();
      await state.close();
    },
  };
}

/**
 * Refuses to serve a namespace split into another number of shards than
 * `count`: its top-level directories would be looked for in other shards
 * than hold them (a namespace is not split again).
 */
function checkShardCount(local: Namespace, count: number): void {
  const recorded = local.shardCount();
  if (recorded !== undefined && recorded !== count)
    throw new KoineError(
      ErrorCode.FailedPrecondition,
      `KOINE_METADATA_SHARDS is ${count}, but this namespace is split into ${recorded} shard(s); set it back to ${recorded} (a namespace is not split again)`,
    );
}

/**
 * While this replica leads, the streams it cannot lead without (its
 * journal, the leases) are led by another NATS server than the one it is
 * on: a host cut off takes its server with it, and a stream whose leader
 * was there elects a new one first (4-9 s on nats-server 2.9), which would
 * come on top of the lease's 3 s. Looked at now and every second; a stream
 * is asked to move only once it has been led from this server, and every
 * replica has been there and current, for a few seconds (nats-server 2.9
 * stalled a journal whose leader was asked to move 0.9 s after the lead
 * came back to this server, a server just plugged back among its
 * replicas).
 */
function keepStreamsElsewhere(nc: NatsConnection, streams: string[], leads: () => boolean, log: Logger): NodeJS.Timeout {
  /** Since when each stream has been led from this server and settled, without a break. */
  const settledHereSince = new Map<string, number>();
  let looking = false;
  const look = async () => {
    // Only a leader sure of its lease moves them: one cut off that came back may be looking at its own server's
    // view of streams that elected other leaders meanwhile.
    if (!leads() || looking) return;
    looking = true;
    for (const stream of streams) {
      const state = await streamLeadership(nc, stream).catch(() => ({ here: false, settled: false }));
      const now = Date.now();
      if (!(state.here && state.settled)) settledHereSince.delete(stream);
      else if (!settledHereSince.has(stream)) settledHereSince.set(stream, now);
      if (now - (settledHereSince.get(stream) ?? now) >= STREAMS_SETTLED_MS) {
        await stepDownStreamLeader(nc, stream).catch(() => {});
        log.info({ stream, server: nc.info?.server_name }, "asked the stream to elect a leader on another server than this replica's");
      }
    }
    looking = false;
  };
  void look();
  return setInterval(look, STREAMS_ELSEWHERE_EVERY_MS);
}

/** A replica's LMDB and the stores on it. */
interface ReplicaState {
  db: RootDatabase;
  /** The namespace as it is in LMDB. */
  local: Namespace;
  changes: JournaledChanges;
  /** The namespace whose changes go through the journal. */
  ns: Namespace;
  uploads: Uploads;
  users: Users;
  intents: Intents;
  close(): Promise<void>;
}

/** The namespace in the LMDB in `dataDir` (made when missing, `rootUfs` mounted at "/"), as it is there: no journal. */
export async function openNamespace(dataDir: string, rootUfs: string, log: Logger): Promise<{ db: RootDatabase; local: Namespace }> {
  await mkdir(dataDir, { recursive: true });
  const db = open({ path: dataDir, maxReaders: MAX_READERS, maxDbs: MAX_DATABASES });
  // Slots held by a process that was killed stay taken until someone clears them.
  const staleReaders = db.readerCheck();
  if (staleReaders > 0) log.warn({ staleReaders }, "cleared LMDB reader slots of a dead process");
  const local = new Namespace(db);
  await local.init({ id: "root", path: "/", uri: rootUfs, readOnly: false });
  return { db, local };
}

/** What the leading replica runs: answering requests, TTLs, the sweeper. */
interface Leading {
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** This replica's name: made at its first start and kept with its LMDB, so that a restart takes its lease back at once. */
async function replicaId(dataDir: string): Promise<string> {
  const file = join(dataDir, "replica-id");
  const existing = await readFile(file, "utf8").catch(() => "");
  if (existing.trim()) return existing.trim();
  const id = `${hostname()}-${randomBytes(4).toString("hex")}`;
  await writeFile(file, id);
  return id;
}
