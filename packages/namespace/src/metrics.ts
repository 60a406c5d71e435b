import { statSync } from "node:fs";
import { join } from "node:path";
import { gauge } from "@koine/metrics";
import type { Namespace } from "./namespace.ts";

/** The namespace of this process, read when scraped, and whether this replica leads it. */
let current: { ns: Namespace; dataDir: string; leads: () => boolean } | undefined;

gauge({
  name: "koine_metadata_inodes",
  help: "Files and directories in the namespace",
  collect() {
    if (current) this.set(current.ns.inodeCount());
  },
});
gauge({
  name: "koine_metadata_lmdb_bytes",
  help: "Size of the namespace's LMDB file",
  collect() {
    if (current) this.set(statSync(join(current.dataDir, "data.mdb"), { throwIfNoEntry: false })?.size ?? 0);
  },
});

gauge({
  name: "koine_metadata_leader",
  help: "1 while this metadata replica leads the namespace (answers requests, appends to the journal), 0 while it follows",
  collect() {
    if (current) this.set(current.leads() ? 1 : 0);
  },
});
gauge({
  name: "koine_metadata_journal_applied_seq",
  help: "Sequence of the last journal record this replica applied to its LMDB",
  collect() {
    if (current) this.set(current.ns.journalPosition()?.seq ?? 0);
  },
});

/** When the newest snapshot this replica took or loaded was taken, and the journal record it holds. */
let snapshot: { takenMs: number; seq: number } | undefined;

gauge({
  name: "koine_metadata_snapshot_age_seconds",
  help: "Age of the newest snapshot of the namespace this replica took (leading) or loaded",
  collect() {
    if (snapshot) this.set((Date.now() - snapshot.takenMs) / 1000);
  },
});
gauge({
  name: "koine_metadata_snapshot_seq",
  help: "Journal record up to which the newest snapshot this replica took or loaded holds the namespace",
  collect() {
    if (snapshot) this.set(snapshot.seq);
  },
});

/** Reports the newest snapshot this replica took or loaded. */
export function reportSnapshot(taken: { takenMs: number; seq: number }): void {
  if (!snapshot || taken.seq >= snapshot.seq) snapshot = taken;
}

/** Reports a namespace in this process's metrics until the returned function is called. */
export function reportMetrics(ns: Namespace, dataDir: string, leads: () => boolean): () => void {
  const mine = { ns, dataDir, leads };
  current = mine;
  return () => {
    if (current === mine) current = undefined;
  };
}
