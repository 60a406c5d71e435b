import { setTimeout as sleep } from "node:timers/promises";
import { request } from "@koine/bus";
import type { FileSystemClient, JobStore } from "@koine/client";
import type { Logger } from "@koine/log";
import { cacheNode, compilePattern, ErrorCode, type FileInfo, type JobRecord, KoineError } from "@koine/protocol";
import { archiveFiles } from "./archive.ts";
import { freeBatch } from "./free.ts";
import { type BatchOutcome, loadBatch } from "./load.ts";
import { jobBytes, jobThroughput } from "./metrics.ts";
import { copyBatch, deleteBatch } from "./namespace.ts";
import { rebalanceBatch } from "./rebalance.ts";

/** Failures kept in a job's record (the count covers them all). */
const MAX_FAILURES_KEPT = 100;
const DEFAULT_BATCH_SIZE = 100;

export interface JobContext {
  client: FileSystemClient;
  jobs: JobStore;
  log: Logger;
  /** True once the runner is stopping: the job pauses after its batch, to be resumed by the next runner. */
  stopping: () => boolean;
}

/**
 * The files a job covers, in path order: its paths, or the paths listed in
 * its index file (one a line); and the paths that name nothing (any more),
 * each a failure of the job rather than a reason to run it again forever.
 */
export async function filesOf(
  record: JobRecord,
  client: FileSystemClient,
): Promise<{ files: FileInfo[]; missing: { path: string; message: string }[] }> {
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
  const filter = record.options.fileFilterRegex ? compilePattern(record.options.fileFilterRegex, "fileFilterRegex") : undefined;
  const files = new Map<string, FileInfo>();
  const missing: { path: string; message: string }[] = [];
  for (const location of locations) {
    let path = location;
    try {
      path = client.namespacePathOf(location);
      for await (const file of client.walk(path)) {
        if (!filter || filter.test(file.path)) files.set(file.path, file);
      }
    } catch (err) {
      // A path that names nothing, or no valid path at all, fails for good: no retry makes it right.
      if (!(err instanceof KoineError && (err.code === ErrorCode.NotFound || err.code === ErrorCode.InvalidArgument))) throw err;
      missing.push({ path, message: err.message });
    }
  }
  return { files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), missing };
}

/** Stops when the record says so (the admin API's DELETE). */
async function stillRunning(ctx: JobContext, id: string): Promise<boolean> {
  return (await ctx.jobs.get(id))?.state === "RUNNING";
}

/** What a batch of each kind of job does. */
function batchWork(record: JobRecord, client: FileSystemClient): (files: FileInfo[]) => Promise<BatchOutcome> {
  if (record.kind === "free") return (files) => freeBatch(client, files);
  if (record.kind === "delete") return (files) => deleteBatch(client, files);
  if (record.kind === "copy") return (files) => copyBatch(client, files, record.options);
  if (record.kind === "archive") return (files) => archiveFiles(client, files, record.options);
  if (record.kind === "rebalance") {
    const options = {
      replicas: record.options.replicas ?? 1,
      target: record.alias,
      skipPrune: record.options.skipPrune === true,
      pruneOnly: record.options.pruneOnly === true,
    };
    return (files) => rebalanceBatch(client, files, options);
  }
  const replicas = record.options.replicas ?? 1;
  const skipIfExists = record.options.skipIfExists === true;
  return async (files) => {
    const batch =
      record.options.loadPolicy === "IF_CHANGED" ? await Promise.all(files.map((f) => client.refresh(f.path).catch(() => f))) : files;
    return loadBatch(client, batch, replicas, skipIfExists);
  };
}

/**
 * Runs (or resumes, after its cursor) a job of the admin API over its
 * files in path order, a batch at a time: a load reads every block through
 * into the cache nodes that own it (a node reads only the pages it lacks,
 * so a batch run again after a crash loads nothing twice); a free drops
 * the cached pages everywhere. The record is updated after every batch.
 */
export async function runJob(ctx: JobContext, id: string): Promise<"paused" | JobRecord["state"]> {
  const { client, jobs, log } = ctx;
  let record = await jobs.get(id);
  if (record?.state !== "RUNNING") return record?.state ?? "STOPPED";
  // Blocks are placed on the ring of every node there is, not of what this view heard last (it may have been cut off).
  await client.membership.refresh();
  log.info({ kind: record.kind, job: id, nodes: client.membership.ring.nodes }, "running a job");
  const leaving = record.kind === "rebalance" ? record.options.decommission : undefined;
  if (leaving) await waitOffRing(client, leaving);
  if (record.kind === "move") return (await moveAll(ctx, record)).state;
  const { files, missing } = await filesOf(record, client);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  record = await jobs.update(id, (r) => ({
    ...r,
    scannedFiles: files.length,
    totalBytes,
    // Recorded by the first run; a resumed one found them already.
    ...(r.cursor === 0 && missing.length > 0
      ? { failedFiles: r.failedFiles + missing.length, failures: [...r.failures, ...missing].slice(0, MAX_FAILURES_KEPT) }
      : {}),
  }));
  const work = batchWork(record, client);
  // An archive is one object: all its files in one batch.
  const batchSize = record.kind === "archive" ? Math.max(1, files.length) : (record.options.batchSize ?? DEFAULT_BATCH_SIZE);
  const bandwidth = record.options.bandwidth ?? 0;
  const freeing = record.kind === "free";

  for (let start = record.cursor; start < files.length; start += batchSize) {
    if (ctx.stopping()) return "paused";
    if (!(await stillRunning(ctx, id))) return "STOPPED";
    const begun = Date.now();
    const batch = files.slice(start, start + batchSize);
    const outcome = await work(batch);
    const elapsed = Date.now() - begun;
    jobBytes.inc({ kind: record.kind }, outcome.doneBytes);
    jobThroughput.set({ kind: record.kind }, elapsed > 0 ? (outcome.doneBytes * 1000) / elapsed : 0);
    record = await jobs.update(id, (r) => ({
      ...r,
      cursor: start + batch.length,
      ...(freeing
        ? { freedFiles: (r.freedFiles ?? 0) + outcome.doneFiles, freedBytes: (r.freedBytes ?? 0) + outcome.doneBytes }
        : { loadedNonEmptyFiles: r.loadedNonEmptyFiles + outcome.doneFiles, loadedBytes: r.loadedBytes + outcome.doneBytes }),
      skippedFiles: r.skippedFiles + outcome.skippedFiles,
      failedFiles: r.failedFiles + outcome.failures.length,
      skippedBytes: r.skippedBytes + outcome.skippedBytes,
      ufsReadBytes: r.ufsReadBytes + outcome.ufsReadBytes,
      ...(outcome.blocks
        ? {
            cachedBlocks: (r.cachedBlocks ?? 0) + outcome.blocks.cached,
            movedBlocks: (r.movedBlocks ?? 0) + outcome.blocks.moved,
            prunedBlocks: (r.prunedBlocks ?? 0) + outcome.blocks.pruned,
          }
        : {}),
      timeElapsedMilliseconds: r.timeElapsedMilliseconds + elapsed,
      failures: [...r.failures, ...outcome.failures].slice(0, MAX_FAILURES_KEPT),
    }));
    // A bandwidth limit: the batch may not have read faster than allowed.
    if (bandwidth > 0 && outcome.ufsReadBytes > 0) {
      const due = (outcome.ufsReadBytes / bandwidth) * 1000 - elapsed;
      if (due > 0) await sleep(due);
    }
  }
  const finished = await jobs.update(id, (r) =>
    r.state === "RUNNING"
      ? {
          ...r,
          state: r.failedFiles > 0 ? "FAILED" : "SUCCEEDED",
          endTime: new Date().toISOString(),
          ...(r.failedFiles > 0 ? { errorMessage: { failedFiles: `${r.failedFiles} files failed; see failures` } } : {}),
        }
      : undefined,
  );
  // A decommissioned node leaves once every block it held is on its new owners.
  if (leaving && finished.state === "SUCCEEDED") await request(client.nc, cacheNode(leaving).leave, {});
  return finished.state;
}

/** A move: one rename of its source to its destination (done already when a run after a crash finds the destination there). */
async function moveAll(ctx: JobContext, record: JobRecord): Promise<JobRecord> {
  const { source, destination } = record.options;
  let failure: string | undefined;
  try {
    if (!source || !destination) throw new KoineError(ErrorCode.InvalidArgument, "a move needs a source and a destination");
    if ((await ctx.client.find(source)) || !(await ctx.client.find(destination))) await ctx.client.rename(source, destination);
  } catch (err) {
    failure = (err as Error).message;
  }
  return ctx.jobs.update(record.id, (r) =>
    r.state === "RUNNING"
      ? {
          ...r,
          state: failure === undefined ? "SUCCEEDED" : "FAILED",
          endTime: new Date().toISOString(),
          ...(failure === undefined ? { loadedNonEmptyFiles: 1 } : { failedFiles: 1, errorMessage: { move: failure } }),
        }
      : undefined,
  );
}

/** Waits until this runner's ring no longer places blocks on `nodeId` (its entry says DECOMMISSIONING). */
async function waitOffRing(client: FileSystemClient, nodeId: string): Promise<void> {
  for (let waited = 0; client.membership.ring.nodes.includes(nodeId); waited += 100) {
    if (waited > 15_000) throw new Error(`cache node ${nodeId} is still on the ring`);
    await sleep(100);
  }
}
