import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { FileSystemClient } from "@koine/client";
import { archiveFormatOf, type FileInfo, type JobOptions } from "@koine/protocol";
import { pack } from "tar-stream";
import type { BatchOutcome } from "./load.ts";

/**
 * Writes `files` as one archive at `options.destination` (a tar, gzipped
 * for .tgz), each named by its path below `options.source` (with the
 * source's name first when `options.keepSourceName`); the archive is
 * streamed as it is made, and committed whole (run again after a crash,
 * it is made again).
 */
export async function archiveFiles(client: FileSystemClient, files: FileInfo[], options: JobOptions): Promise<BatchOutcome> {
  const done: BatchOutcome = { doneFiles: 0, doneBytes: 0, skippedFiles: 0, skippedBytes: 0, ufsReadBytes: 0, failures: [] };
  const destination = options.destination as string;
  const source = options.source ?? "/";
  const tar = pack();
  const adding = (async () => {
    for (const file of files) {
      const name = file.path.slice(options.keepSourceName ? source.lastIndexOf("/") + 1 : source.length + 1);
      const entry = tar.entry({ name, size: file.size, mtime: new Date(file.mtimeMs), mode: 0o644 });
      await pipeline(await client.readStream(file), entry);
      done.doneFiles++;
      done.doneBytes += file.size;
    }
    tar.finalize();
  })();
  // A file that cannot be read ends the archive with its error: nothing is committed.
  adding.catch((err: Error) => tar.destroy(err));
  const gzip = archiveFormatOf(destination) === "tgz" ? createGzip() : undefined;
  if (gzip) pipeline(tar, gzip).catch(() => {});
  try {
    await client.writeFile(destination, (gzip ?? tar) as AsyncIterable<Uint8Array>, {
      attributes: { owner: options.owner ?? "", mode: 0o600, contentType: "application/x-tar" },
      createParents: true,
    });
    await adding;
  } catch (err) {
    return { ...done, doneFiles: 0, doneBytes: 0, failures: [{ path: destination, message: (err as Error).message }] };
  }
  return done;
}
