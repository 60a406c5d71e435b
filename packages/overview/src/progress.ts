/** Bytes as MiB with one decimal. */
export const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** A time span, as an uptime or a silence is told: "42s", "5m", "3h". */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

/**
 * Where a job of the admin API is (its job JSON): the share done (of its
 * bytes; of its files for a rebalance) and a line saying the rest.
 */
export function jobProgress(job: Record<string, unknown>): { share: number; detail: string } {
  const rebalancing = job.kind === "rebalance";
  const total = rebalancing ? Number(job.scannedFiles ?? 0) : Number(job.totalBytes ?? 0);
  const done = rebalancing
    ? Number(job.cursor ?? 0)
    : Number(job.loadedBytes ?? 0) + Number(job.freedBytes ?? 0) + Number(job.skippedBytes ?? 0);
  const share = total > 0 ? Math.min(1, done / total) : job.state === "SUCCEEDED" ? 1 : 0;
  const seconds = Number(job.timeElapsedMilliseconds ?? 0) / 1000;
  const rate = seconds > 0 ? `${mib(Number(job.loadedBytes ?? 0) / seconds)}/s` : "-";
  if (rebalancing) {
    return {
      share,
      detail: `files ${done}/${total}  blocks cached ${job.cachedBlocks ?? 0}, moved ${job.movedBlocks ?? 0}, pruned ${job.prunedBlocks ?? 0}  ${job.state}`,
    };
  }
  const files = Number(job.loadedNonEmptyFiles ?? 0) + Number(job.freedFiles ?? 0);
  return {
    share,
    detail: `${mib(done)} of ${mib(total)}  files ${files}/${job.scannedFiles ?? 0}  failed ${job.failedFiles ?? 0}  ${rate}  ${job.state}`,
  };
}
