import { createHash } from "node:crypto";
import { open } from "lmdb";
import { MAX_DATABASES } from "./namespace.ts";

/**
 * A digest of every database of the LMDB at `dataDir`, entry by entry, and
 * how many entries there are: metadata replicas that applied the same
 * journal have the same. Opened read-only; meant for a replica that is
 * stopped (or quiet).
 */
export async function stateDigest(dataDir: string): Promise<{ digest: string; entries: number }> {
  const root = open({ path: dataDir, readOnly: true, maxDbs: MAX_DATABASES });
  try {
    const hash = createHash("sha256");
    let entries = 0;
    for (const name of [...root.getKeys({})].map(String).sort()) {
      hash.update(`\0db ${name}\0`);
      for (const { key, value } of root.openDB({ name }).getRange({})) {
        hash.update(JSON.stringify([key, value]));
        entries++;
      }
    }
    return { digest: hash.digest("hex"), entries };
  } finally {
    await root.close();
  }
}
