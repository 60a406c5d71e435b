import assert from "node:assert/strict";
import type { ServiceProcess } from "@koine/launcher";
import { stateDifferences, stateDigest } from "@koine/namespace";
import { waitFor } from "@koine/testkit";
import { metadataReplicaState } from "@koine/testkit/clients";

/** Helpers of the tests of metadata's replicas (issue 16), each replica a process of its own. */

/** A replica's view of itself (none while it is down). */
export const replicaState = (replica: ServiceProcess) =>
  replica.opsUrl ? metadataReplicaState(replica.opsUrl) : Promise.resolve(undefined);

/** The replica that leads, once one does. */
export async function leaderOf(replicas: ServiceProcess[]): Promise<ServiceProcess> {
  let leader: ServiceProcess | undefined;
  await waitFor("a leader", async () => {
    for (const r of replicas) if ((await replicaState(r))?.leads) leader = r;
    return leader !== undefined;
  });
  return leader as ServiceProcess;
}

/**
 * Once quiet, every replica applies the journal to its end; then, with
 * every process in `all` killed, the replicas' LMDBs hold the same entries,
 * database by database, and more than `atLeast` of them.
 */
export async function assertReplicasAlike(
  replicas: ServiceProcess[],
  all: ServiceProcess[],
  atLeast: number,
  label: string,
): Promise<void> {
  await waitFor(
    "every replica at the journal's end",
    async () => {
      const states = await Promise.all(replicas.map(replicaState));
      return new Set(states.map((s) => s?.applied)).size === 1 && states[0] !== undefined;
    },
    30_000,
  );
  for (const s of all) await s.kill9();
  const digests = await assertLmdbsAlike(
    replicas.map((r) => r.env.KOINE_METADATA_DIR as string),
    label,
  );
  assert.ok((digests[0]?.entries ?? 0) > atLeast, "the namespace holds the writes");
}

/** The LMDBs in `dirs` (of replicas no longer running) hold the same entries; their digests. */
export async function assertLmdbsAlike(dirs: string[], label: string): Promise<{ digest: string; entries: number }[]> {
  const digests = await Promise.all(dirs.map(stateDigest));
  console.log(`${label}: replicas' LMDB`, digests);
  for (const [i, dir] of dirs.entries()) {
    if (digests[i]?.digest === digests[0]?.digest) continue;
    console.log(`${label}: where replica ${i} differs from replica 0`, await stateDifferences(dirs[0] as string, dir));
  }
  assert.equal(new Set(digests.map((d) => d.digest)).size, 1, "every replica holds the same state");
  return digests;
}
