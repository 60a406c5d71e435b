import { request } from "@koine/bus";
import { FileSystemClient } from "@koine/client";
import { cacheNode, type FileInfo, type ReadRange } from "@koine/protocol";
import type { BatchOutcome } from "./load.ts";

export interface RebalanceOptions {
  /** Owners each cached block is kept on (its first owners on the ring). */
  replicas: number;
  /** Only this node's blocks (loads onto it, prunes from it); "ALL": every node. */
  target: string;
  /** Load blocks onto new owners, but leave the old copies. */
  skipPrune: boolean;
  /** Only drop copies on nodes that no longer own them (clear stale cache). */
  pruneOnly: boolean;
}

/**
 * Brings the cached blocks of a batch of files to their owners on the
 * current ring: a block cached somewhere but missing on an owner is loaded
 * there, then dropped from nodes that no longer own it. Blocks cached
 * nowhere stay so (a rebalance moves the cache, it does not fill it).
 */
export async function rebalanceBatch(client: FileSystemClient, files: FileInfo[], options: RebalanceOptions): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { doneFiles: 0, doneBytes: 0, skippedFiles: 0, skippedBytes: 0, ufsReadBytes: 0, failures: [] };
  const blocks = { cached: 0, moved: 0, pruned: 0 };
  const ranges: { range: ReadRange; owners: string[]; file: FileInfo }[] = [];
  for (const file of files) {
    if (file.size === 0 || file.persistence !== "PERSISTED") continue;
    for (const { key, range } of FileSystemClient.blocksOf(file)) {
      ranges.push({ range, owners: client.membership.ring.placementFor(key, options.replicas), file });
    }
  }
  const nodes = client.membership.members().map((m) => m.id);
  const all = ranges.map((r) => r.range);
  const held = new Map<string, boolean[]>();
  await Promise.all(nodes.map(async (node) => held.set(node, (await request(client.nc, cacheNode(node).held, { ranges: all })).held)));
  const loads = new Map<string, number[]>();
  const drops = new Map<string, number[]>();
  ranges.forEach(({ owners }, i) => {
    const holders = nodes.filter((n) => held.get(n)?.[i]);
    if (holders.length === 0) return;
    blocks.cached++;
    const concerned = (node: string) => options.target === "ALL" || options.target === node;
    if (!options.pruneOnly) {
      for (const owner of owners) if (!holders.includes(owner) && concerned(owner)) loads.set(owner, [...(loads.get(owner) ?? []), i]);
    }
    if (!options.skipPrune) {
      for (const holder of holders) if (!owners.includes(holder) && concerned(holder)) drops.set(holder, [...(drops.get(holder) ?? []), i]);
    }
  });
  const failed = new Set<number>();
  await Promise.all(
    [...loads].map(async ([node, indexes]) => {
      try {
        const { results } = await request(
          client.nc,
          cacheNode(node).load,
          { ranges: indexes.map((i) => all[i] as ReadRange) },
          { timeoutMs: 600_000 },
        );
        results.forEach((r, k) => {
          outcome.ufsReadBytes += r.loadedBytes;
          if (r.error) failed.add(indexes[k] as number);
          else blocks.moved++;
        });
      } catch {
        for (const i of indexes) failed.add(i);
      }
    }),
  );
  // A copy is dropped only once its owners have the block.
  await Promise.all(
    [...drops].map(async ([node, indexes]) => {
      const safe = indexes.filter((i) => !failed.has(i));
      if (safe.length === 0) return;
      await request(client.nc, cacheNode(node).drop, { ranges: safe.map((i) => all[i] as ReadRange) });
      blocks.pruned += safe.length;
    }),
  );
  for (const i of failed) {
    const { file } = ranges[i] as { file: FileInfo };
    outcome.failures.push({ path: file.path, message: "a block could not be loaded on its new owner" });
  }
  outcome.blocks = blocks;
  return outcome;
}
