import { request } from "@koine/bus";
import { FileSystemClient } from "@koine/client";
import { cacheNode, type FileInfo, type ReadRange } from "@koine/protocol";

/** What one batch of a job did. */
export interface BatchOutcome {
  /** Files loaded (non-empty) or freed, and their bytes. */
  doneFiles: number;
  doneBytes: number;
  skippedFiles: number;
  skippedBytes: number;
  ufsReadBytes: number;
  failures: { path: string; message: string }[];
  /** A rebalance's blocks: cached somewhere, loaded on a new owner, dropped from a former one. */
  blocks?: { cached: number; moved: number; pruned: number };
}

/**
 * Loads every block of `files` on its first `replicas` owners, each node's
 * share in one request. A file that was all cached already counts as
 * skipped with `skipIfExists`, else as loaded (its pages are its bytes: a
 * cached page is never stale, so nothing is read again either way).
 */
export async function loadBatch(
  client: FileSystemClient,
  files: FileInfo[],
  replicas: number,
  skipIfExists: boolean,
): Promise<BatchOutcome> {
  const byNode = new Map<string, { ranges: ReadRange[]; files: number[] }>();
  for (const [fileIndex, file] of files.entries()) {
    if (file.size === 0 || file.persistence !== "PERSISTED") continue;
    for (const { key, range } of FileSystemClient.blocksOf(file)) {
      for (const node of client.membership.ring.placementFor(key, replicas)) {
        const share = byNode.get(node) ?? { ranges: [], files: [] };
        share.ranges.push(range);
        share.files.push(fileIndex);
        byNode.set(node, share);
      }
    }
  }
  const errors = new Map<number, string>();
  const cachedAll = new Set(files.keys());
  let ufsReadBytes = 0;
  await Promise.all(
    [...byNode].map(async ([node, share]) => {
      try {
        const { results } = await request(client.nc, cacheNode(node).load, { ranges: share.ranges }, { timeoutMs: 600_000 });
        results.forEach((r, i) => {
          const fileIndex = share.files[i] as number;
          ufsReadBytes += r.loadedBytes;
          if (r.error) errors.set(fileIndex, r.error);
          if (r.loadedBytes > 0 || r.error) cachedAll.delete(fileIndex);
        });
      } catch (err) {
        for (const fileIndex of share.files) errors.set(fileIndex, `cache node ${node}: ${(err as Error).message}`);
      }
    }),
  );
  const outcome: BatchOutcome = { doneFiles: 0, doneBytes: 0, skippedFiles: 0, skippedBytes: 0, ufsReadBytes, failures: [] };
  for (const [i, file] of files.entries()) {
    const error = errors.get(i) ?? (file.persistence !== "PERSISTED" ? "not persisted: its bytes are only in the cache" : undefined);
    if (error) outcome.failures.push({ path: file.path, message: error });
    else if (skipIfExists && file.size > 0 && cachedAll.has(i)) {
      outcome.skippedFiles++;
      outcome.skippedBytes += file.size;
    } else {
      if (file.size > 0) outcome.doneFiles++;
      outcome.doneBytes += file.size;
    }
  }
  return outcome;
}
