import { statSync } from "node:fs";
import { join } from "node:path";
import { gauge } from "@koine/metrics";
import type { Namespace } from "./namespace.ts";

/** The namespace of each shard this process serves, read when scraped, and whether this replica leads it. */
const current = new Map<number, { ns: Namespace; dataDir: string; leads: () => boolean }>();

/** A gauge with one value a shard, read from its namespace when scraped. */
function shardGauge(name: string, help: string, value: (held: { ns: Namespace; dataDir: string; leads: () => boolean }) => number) {
  gauge({
    name,
    help,
    labelNames: ["shard"],
    collect() {
      this.reset();
      for (const [shard, held] of current) this.set({ shard: String(shard) }, value(held));
    },
  });
}

shardGauge("koine_metadata_inodes", "Files and directories in the namespace (its shard)", ({ ns }) => ns.inodeCount());
shardGauge(
  "koine_metadata_lmdb_bytes",
  "Size of the namespace's LMDB file (its shard's)",
  ({ dataDir }) => statSync(join(dataDir, "data.mdb"), { throwIfNoEntry: false })?.size ?? 0,
);
shardGauge(
  "koine_metadata_leader",
  "1 while this metadata replica leads the namespace's shard (answers requests, appends to the journal), 0 while it follows",
  ({ leads }) => (leads() ? 1 : 0),
);
shardGauge(
  "koine_metadata_journal_applied_seq",
  "Sequence of the last journal record this replica applied to its LMDB",
  ({ ns }) => ns.journalPosition()?.seq ?? 0,
);

/** When the newest snapshot this replica took or loaded of each shard was taken, and the journal record it holds. */
const snapshots = new Map<number, { takenMs: number; seq: number }>();

gauge({
  name: "koine_metadata_snapshot_age_seconds",
  help: "Age of the newest snapshot of the namespace's shard this replica took (leading) or loaded",
  labelNames: ["shard"],
  collect() {
    for (const [shard, { takenMs }] of snapshots) this.set({ shard: String(shard) }, (Date.now() - takenMs) / 1000);
  },
});
gauge({
  name: "koine_metadata_snapshot_seq",
  help: "Journal record up to which the newest snapshot this replica took or loaded holds the namespace's shard",
  labelNames: ["shard"],
  collect() {
    for (const [shard, { seq }] of snapshots) this.set({ shard: String(shard) }, seq);
  },
});

/** Reports the newest snapshot of `shard` this replica took or loaded. */
export function reportSnapshot(shard: number, taken: { takenMs: number; seq: number }): void {
  const known = snapshots.get(shard);
  if (!known || taken.seq >= known.seq) snapshots.set(shard, taken);
}

/** Reports a shard's namespace in this process's metrics until the returned function is called. */
export function reportMetrics(shard: number, ns: Namespace, dataDir: string, leads: () => boolean): () => void {
  const mine = { ns, dataDir, leads };
  current.set(shard, mine);
  return () => {
    if (current.get(shard) === mine) current.delete(shard);
  };
}
