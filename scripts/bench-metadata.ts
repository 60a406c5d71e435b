#!/usr/bin/env -S pnpm exec tsx
import { copyFile, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
// How long a metadata replica takes to catch up with a namespace of many
// inodes (issue 16): from the journal alone, and from a snapshot plus the
// journal after it; next to copying the snapshot's file on the same disk in
// the same run, as a ratio. Not a test.
//
//   npm run bench:metadata [-- --inodes 1000000] [-- --tail 10000]
//
// A real nats-server (one, JetStream on disk) holds the journal and the
// snapshot; the namespace is driven in this process, as metadata drives it.
import { connect, SnapshotStore, startNatsServer } from "@koine/bus";
import { serviceLogger } from "@koine/log";
import { installSnapshot, JournaledChanges, type Namespace, openNamespace, stateDigest, takeSnapshot } from "@koine/namespace";
import { argv, echo } from "zx";

const inodes = Number(argv.inodes ?? 1_000_000);
const tail = Number(argv.tail ?? 10_000);
/** Changes asked for at once (the journal groups what waits into records of up to 256). */
const WAVE = 4096;
const log = serviceLogger("bench");
log.level = "warn";

const home = await mkdtemp(join(tmpdir(), "koine-bench-metadata-"));
const nats = await startNatsServer({ storeDir: join(home, "nats") });
const nc = await connect({ servers: nats.url, name: "bench-metadata" });
const rootUfs = pathToFileURL(join(home, "ufs")).href;

/** A replica's LMDB in `dir`, its namespace and its journal. */
async function replica(name: string) {
  const dataDir = join(home, name);
  const { db, local } = await openNamespace(dataDir, rootUfs, log);
  const changes = await JournaledChanges.open(local, nc, name, log);
  return { dataDir, db, local, changes, ns: changes.namespace() };
}

/** Files `from`..`to` (a directory each thousand), committed through the journal. */
async function commit(ns: Namespace, from: number, to: number): Promise<void> {
  for (let wave = from; wave < to; wave += WAVE) {
    const writes: Promise<unknown>[] = [];
    for (let i = wave; i < Math.min(to, wave + WAVE); i++) {
      const data = { contentId: `c${i}`, size: 4096, etag: `e${i}`, ufsFingerprint: "" };
      writes.push(ns.commitFile(`/bench/d${Math.floor(i / 1000)}/f${i}`, data, 4 * 1024 * 1024, {}, true));
    }
    await Promise.all(writes);
  }
}

const seconds = (since: number) => (performance.now() - since) / 1000;
try {
  const leader = await replica("leader");
  let t = performance.now();
  await commit(leader.ns, 0, inodes);
  const built = seconds(t);
  echo(`built ${leader.local.inodeCount()} inodes through the journal in ${built.toFixed(1)} s (${Math.round(inodes / built)} files/s)`);

  // From the journal alone: a replica with an empty LMDB applies every entry.
  const fromJournal = await replica("from-journal");
  t = performance.now();
  await fromJournal.changes.catchUp();
  const replayed = seconds(t);
  echo(`caught up from the journal alone: ${replayed.toFixed(1)} s (${Math.round(inodes / replayed)} entries/s)`);
  await fromJournal.db.close();

  const store = await SnapshotStore.open(nc, "bench-snapshots");
  t = performance.now();
  const snapshot = await takeSnapshot(leader.db, leader.dataDir, store);
  if (!snapshot) throw new Error("no snapshot taken");
  const took = seconds(t);
  echo(`snapshot taken and stored: ${took.toFixed(1)} s, ${(snapshot.bytes / 2 ** 20).toFixed(0)} MiB at record ${snapshot.seq}`);
  await commit(leader.ns, inodes, inodes + tail);
  await leader.changes.settled();

  // From the snapshot: fetched, put in place, then the journal after it applied.
  const fromSnapshotDir = join(home, "from-snapshot");
  await mkdir(fromSnapshotDir, { recursive: true });
  t = performance.now();
  await installSnapshot(fromSnapshotDir, store);
  const fetched = seconds(t);
  const fromSnapshot = await replica("from-snapshot");
  await fromSnapshot.changes.catchUp();
  const caughtUp = seconds(t);
  echo(`caught up from the snapshot + ${tail} entries: ${caughtUp.toFixed(1)} s (fetching the snapshot ${fetched.toFixed(1)} s)`);
  await fromSnapshot.db.close();

  // Reference: the snapshot's bytes copied on the same disk.
  t = performance.now();
  await copyFile(join(fromSnapshotDir, "data.mdb"), join(home, "copy.mdb"));
  const copied = seconds(t);
  const bytes = (await stat(join(home, "copy.mdb"))).size;
  echo(`reference: cp of the ${(bytes / 2 ** 20).toFixed(0)} MiB file: ${copied.toFixed(2)} s`);
  echo(
    `ratios: from the snapshot ${(replayed / caughtUp).toFixed(1)}x faster than from the journal; fetching it ${(fetched / copied).toFixed(1)}x a local copy`,
  );

  await leader.db.close();
  const digests = await Promise.all(["leader", "from-snapshot"].map((d) => stateDigest(join(home, d))));
  if (digests[0]?.digest !== digests[1]?.digest) throw new Error(`the replica from the snapshot differs: ${JSON.stringify(digests)}`);
  echo(`the replica from the snapshot holds the leader's state (${digests[0]?.entries} LMDB entries alike)`);
} finally {
  await nc.close();
  await nats.stop();
  await rm(home, { recursive: true, force: true });
}
