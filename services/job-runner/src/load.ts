import { setTimeout as sleep } from "node:timers/promises";
import { request } from "@koine/bus";
import { FileSystemClient, type JobStore } from "@koine/client";
import { cacheNode, type FileInfo, type JobRecord, type ReadRange } from "@koine/protocol";

/** Failures kept in a job's record (the count covers them all). */
const MAX_FAILURES_KEPT = 100;
const DEFAULT_BATCH_SIZE = 100;

export interface JobContext {
  client: FileSystemClient;
  jobs: JobStore;
  /** True once the runner is stopping: the job pauses after its batch, to be resumed by the next runner. */
  stopping: () => boolean;
}

/** The files a job covers, in path order: its paths, or the paths listed in its index file (one a line). */
export async function filesOf(record: JobRecord, client: FileSystemClient): Promise<FileInfo[]> {
  let locations = record.paths;
  if (record.index) {
    const index = await client.stat(client.namespacePathOf(record.index), { loadMetadata: "ALWAYS" });
    const bytes = await client.read(index);
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(bytes)) chunks.push(bytes);
    else for await (const chunk of bytes as AsyncIterable<Buffer>) chunks.push(chunk);
    locations = Buffer.concat(chunks)
      .toString("utf8")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
  }
  const filter = record.options.fileFilterRegex ? new RegExp(record.options.fileFilterRegex) : undefined;
  const files = new Map<string, FileInfo>();
  for (const location of locations) {
    for await (const file of client.walk(client.namespacePathOf(location))) {
      if (!filter || filter.test(file.path)) files.set(file.path, file);
    }
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Stops when the record says so (the admin API's DELETE). */
async function stillRunning(ctx: JobContext, id: string): Promise<boolean> {
  return (await ctx.jobs.get(id))?.state === "RUNNING";
}

/**
 * Runs (or resumes, after its cursor) a load job: each batch of files has
 * every block read through into the cache nodes that own it (`replicas`
 * of them, in ring order); a node reads only the pages it lacks, so a
 * batch run again after a crash loads nothing twice. The record is
 * updated after every batch.
 */
export async function runLoad(ctx: JobContext, id: string): Promise<"done" | "paused"> {
  const { client, jobs } = ctx;
  let record = await jobs.get(id);
  if (record?.state !== "RUNNING") return "done";
  const files = await filesOf(record, client);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  record = await jobs.update(id, (r) => ({ ...r, scannedFiles: files.length, totalBytes }));
  const replicas = record.options.replicas ?? 1;
  const batchSize = record.options.batchSize ?? DEFAULT_BATCH_SIZE;
  const bandwidth = record.options.bandwidth ?? 0;

  for (let start = record.cursor; start < files.length; start += batchSize) {
    if (ctx.stopping()) return "paused";
    if (!(await stillRunning(ctx, id))) return "done";
    const begun = Date.now();
    let batch = files.slice(start, start + batchSize);
    if (record.options.loadPolicy === "IF_CHANGED") {
      batch = await Promise.all(batch.map((f) => client.refresh(f.path).catch(() => f)));
    }
    const outcome = await loadBatch(client, batch, replicas, record.options.skipIfExists === true);
    const elapsed = Date.now() - begun;
    record = await jobs.update(id, (r) => {
      const failures = [...r.failures, ...outcome.failures].slice(0, MAX_FAILURES_KEPT);
      return {
        ...r,
        cursor: start + batch.length,
        loadedNonEmptyFiles: r.loadedNonEmptyFiles + outcome.loadedFiles,
        skippedFiles: r.skippedFiles + outcome.skippedFiles,
        failedFiles: r.failedFiles + outcome.failures.length,
        loadedBytes: r.loadedBytes + outcome.loadedBytes,
        skippedBytes: r.skippedBytes + outcome.skippedBytes,
        ufsReadBytes: r.ufsReadBytes + outcome.ufsReadBytes,
        timeElapsedMilliseconds: r.timeElapsedMilliseconds + elapsed,
        failures,
      };
    });
    // A bandwidth limit: the batch may not have read faster than allowed.
    if (bandwidth > 0 && outcome.ufsReadBytes > 0) {
      const due = (outcome.ufsReadBytes / bandwidth) * 1000 - elapsed;
      if (due > 0) await sleep(due);
    }
  }
  await jobs.update(id, (r) =>
    r.state === "RUNNING"
      ? {
          ...r,
          state: r.failedFiles > 0 ? "FAILED" : "SUCCEEDED",
          endTime: new Date().toISOString(),
          ...(r.failedFiles > 0 ? { errorMessage: { failedFiles: `${r.failedFiles} files could not be loaded; see failures` } } : {}),
        }
      : undefined,
  );
  return "done";
}

interface BatchOutcome {
  loadedFiles: number;
  skippedFiles: number;
  loadedBytes: number;
  skippedBytes: number;
  ufsReadBytes: number;
  failures: { path: string; message: string }[];
}

/**
 * Loads every block of `files` on its first `replicas` owners, each node's
 * share in one request. A file that was all cached already counts as
 * skipped with `skipIfExists`, else as loaded (its pages are its bytes: a
 * cached page is never stale, so nothing is read again either way).
 */
async function loadBatch(client: FileSystemClient, files: FileInfo[], replicas: number, skipIfExists: boolean): Promise<BatchOutcome> {
  const byNode = new Map<string, { ranges: ReadRange[]; files: number[] }>();
  for (const [fileIndex, file] of files.entries()) {
    if (file.size === 0 || file.persistence !== "PERSISTED") continue;
    for (let block = 0; block * file.blockSize < file.size; block++) {
      const offset = block * file.blockSize;
      const range = FileSystemClient.rangeOf(file, offset, Math.min(file.blockSize, file.size - offset));
      for (const node of client.membership.ring.placementFor(FileSystemClient.blockKey(file.contentId, block), replicas)) {
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
  const outcome: BatchOutcome = { loadedFiles: 0, skippedFiles: 0, loadedBytes: 0, skippedBytes: 0, ufsReadBytes, failures: [] };
  for (const [i, file] of files.entries()) {
    const error = errors.get(i) ?? (file.persistence !== "PERSISTED" ? "not persisted: its bytes are only in the cache" : undefined);
    if (error) outcome.failures.push({ path: file.path, message: error });
    else if (skipIfExists && file.size > 0 && cachedAll.has(i)) {
      outcome.skippedFiles++;
      outcome.skippedBytes += file.size;
    } else {
      if (file.size > 0) outcome.loadedFiles++;
      outcome.loadedBytes += file.size;
    }
  }
  return outcome;
}
