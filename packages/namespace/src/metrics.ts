import { statSync } from "node:fs";
import { join } from "node:path";
import { gauge } from "@koine/metrics";
import type { Namespace } from "./namespace.ts";

/** The namespace of this process, read when scraped. */
let current: { ns: Namespace; dataDir: string } | undefined;

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

/** Reports a namespace in this process's metrics until the returned function is called. */
export function reportMetrics(ns: Namespace, dataDir: string): () => void {
  const mine = { ns, dataDir };
  current = mine;
  return () => {
    if (current === mine) current = undefined;
  };
}
