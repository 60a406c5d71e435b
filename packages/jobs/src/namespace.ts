import type { FileSystemClient } from "@koine/client";
import type { FileInfo, JobOptions } from "@koine/protocol";
import type { BatchOutcome } from "./load.ts";

function outcome(): BatchOutcome {
  return { doneFiles: 0, doneBytes: 0, skippedFiles: 0, skippedBytes: 0, ufsReadBytes: 0, failures: [] };
}

/** Deletes a batch of files; one already gone counts as skipped. */
export async function deleteBatch(client: FileSystemClient, files: FileInfo[]): Promise<BatchOutcome> {
  const done = outcome();
  for (const file of files) {
    try {
      const current = await client.find(file.path);
      if (current?.type !== "file") {
        done.skippedFiles++;
        continue;
      }
      await client.delete(file.path, { fileOnly: true, pruneImplicitParents: true });
      done.doneFiles++;
      done.doneBytes += file.size;
    } catch (err) {
      done.failures.push({ path: file.path, message: (err as Error).message });
    }
  }
  return done;
}

/**
 * Copies a batch of files from under `source` to the same place under
 * `destination`, with their metadata, owned by `owner` (a batch run again
 * after a crash writes the same copies again).
 */
export async function copyBatch(client: FileSystemClient, files: FileInfo[], options: JobOptions): Promise<BatchOutcome> {
  const done = outcome();
  const source = options.source ?? "/";
  const destination = options.destination ?? "/";
  for (const file of files) {
    try {
      const to = `${destination}${file.path.slice(source.length)}`;
      await client.writeFile(to, await client.readStream(file), {
        attributes: {
          owner: options.owner ?? file.owner,
          group: file.group,
          mode: file.mode,
          contentType: file.contentType,
          userMeta: file.userMeta,
          ...(file.checksums ? { checksums: file.checksums } : {}),
          ...(file.headers ? { headers: file.headers } : {}),
        },
        createParents: true,
        sizeHint: file.size,
      });
      done.doneFiles++;
      done.doneBytes += file.size;
      done.ufsReadBytes += file.size;
    } catch (err) {
      done.failures.push({ path: file.path, message: (err as Error).message });
    }
  }
  return done;
}
