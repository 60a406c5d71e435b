import { createHash } from "node:crypto";
import { open, type RootDatabase } from "lmdb";
import { MAX_DATABASES } from "./namespace.ts";

/**
 * A digest of every database of the LMDB at `dataDir`, entry by entry, and
 * how many entries there are: metadata replicas that applied the same
 * journal have the same. Opened read-only; meant for a replica that is
 * stopped (or quiet).
 */
export async function stateDigest(dataDir: string): Promise<{ digest: string; entries: number }> {
  return await readOnly(dataDir, (root) => {
    const hash = createHash("sha256");
    let entries = 0;
    for (const { db, key, value } of entriesOf(root)) {
      hash.update(`${db}\0${key}\0${value}`);
      entries++;
    }
    return { digest: hash.digest("hex"), entries };
  });
}

/** Where the LMDBs at `a` and `b` differ, entry by entry (the first `limit`): what each holds under a database's key. */
export async function stateDifferences(
  a: string,
  b: string,
  limit = 20,
): Promise<{ db: string; key: string; a: string | undefined; b: string | undefined }[]> {
  const held = await readOnly(a, (root) => new Map([...entriesOf(root)].map((e) => [`${e.db}\0${e.key}`, e.value])));
  return await readOnly(b, (root) => {
    const differences: { db: string; key: string; a: string | undefined; b: string | undefined }[] = [];
    const note = (id: string, inA: string | undefined, inB: string | undefined) => {
      const [db = "", key = ""] = id.split("\0");
      if (differences.length < limit) differences.push({ db, key, a: inA, b: inB });
    };
    for (const { db, key, value } of entriesOf(root)) {
      const id = `${db}\0${key}`;
      if (held.get(id) !== value) note(id, held.get(id), value);
      held.delete(id);
    }
    for (const [id, value] of held) note(id, value, undefined);
    return differences;
  });
}

async function readOnly<T>(dataDir: string, read: (root: RootDatabase) => T): Promise<T> {
  const root = open({ path: dataDir, readOnly: true, maxDbs: MAX_DATABASES });
  try {
    return read(root);
  } finally {
    await root.close();
  }
}

/** Every entry of every database, databases by name, as JSON. */
function* entriesOf(root: RootDatabase): Generator<{ db: string; key: string; value: string }> {
  for (const db of [...root.getKeys({})].map(String).sort()) {
    for (const { key, value } of root.openDB({ name: db }).getRange({}))
      yield { db, key: JSON.stringify(key), value: JSON.stringify(value) };
  }
}
