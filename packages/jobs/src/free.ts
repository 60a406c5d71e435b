import { request } from "@koine/bus";
import type { FileSystemClient } from "@koine/client";
import { cacheNode, type FileInfo } from "@koine/protocol";
import type { BatchOutcome } from "./load.ts";

/**
 * Drops the cached pages of a batch of files on every live cache node (all
 * replicas). Pinned files and files only in the cache are skipped: freeing
 * them would lose what must stay.
 */
export async function freeBatch(client: FileSystemClient, files: FileInfo[]): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { doneFiles: 0, doneBytes: 0, skippedFiles: 0, skippedBytes: 0, ufsReadBytes: 0, failures: [] };
  const freeable = files.filter((f) => f.persistence === "PERSISTED" && !f.pinned);
  outcome.skippedFiles = files.length - freeable.length;
  outcome.skippedBytes = files.filter((f) => !freeable.includes(f)).reduce((sum, f) => sum + f.size, 0);
  const contentIds = freeable.map((f) => f.contentId);
  const failed: string[] = [];
  await Promise.all(
    client.membership
      .members()
      .map((m) =>
        request(client.nc, cacheNode(m.id).free, { contentIds }).catch((err: Error) => failed.push(`cache node ${m.id}: ${err.message}`)),
      ),
  );
  for (const file of freeable) {
    if (failed.length > 0) outcome.failures.push({ path: file.path, message: failed.join("; ") });
    else {
      outcome.doneFiles++;
      outcome.doneBytes += file.size;
    }
  }
  return outcome;
}
