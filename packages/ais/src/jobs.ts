import type { Principal } from "@koine/access";
import type { Cluster } from "@koine/client";
import type { JobKind, JobRecord } from "@koine/protocol";
import { type AisContext, type BucketRef, may } from "./context.ts";
import { AisError } from "./errors.ts";
import { Template } from "./templates.ts";

/** The most objects one list/range job names (its record holds their paths). */
export const MAX_JOB_OBJECTS = 5_000;

/** AIS's kind of each koine job kind, for jobs koine's own APIs started. */
const AIS_KINDS: Record<JobKind, string> = {
  load: "prefetch-listrange",
  free: "evict-listrange",
  rebalance: "rebalance",
  delete: "delete-listrange",
  copy: "copy-bck",
  move: "move-bck",
  archive: "archive",
};

/** A job's kind as AIS names it: the AIS action that started it (kept as its alias), or its kind's counterpart. */
export function aisKindOf(record: JobRecord): string {
  return Object.values(AIS_KINDS).includes(record.alias) || record.alias === "copy-listrange" ? record.alias : AIS_KINDS[record.kind];
}

const nanos = (iso: string | undefined) => (iso === undefined ? 0 : Date.parse(iso) * 1e6);

/** `what=status`: the JobStatus the SDK's `Job.wait()` polls (end_time 0 while running). */
export function jobStatus(record: JobRecord) {
  const failed = record.state === "FAILED";
  const reasons = [...Object.values(record.errorMessage), ...record.failures.slice(0, 3).map((f) => `${f.path}: ${f.message}`)];
  return {
    uuid: record.id,
    kind: aisKindOf(record),
    err: failed ? reasons.join("; ") || "failed" : "",
    end_time: record.state === "RUNNING" ? 0 : nanos(record.endTime) || Date.now() * 1e6,
    aborted: record.state === "STOPPED",
    is_idle: record.state !== "RUNNING",
  };
}

/** `what=qryxstats`: a job's snapshot, as one target's (the job runner does the work). */
export function jobSnap(record: JobRecord) {
  const done = record.kind === "free" ? (record.freedFiles ?? 0) : record.loadedNonEmptyFiles;
  const bytes = record.kind === "free" ? (record.freedBytes ?? 0) : record.loadedBytes;
  return {
    id: record.id,
    kind: aisKindOf(record),
    "start-time": record.startTime,
    "end-time": record.endTime ?? "",
    aborted: record.state === "STOPPED",
    is_idle: record.state !== "RUNNING",
    "abort-err": record.state === "FAILED" ? jobStatus(record).err : "",
    stats: { "loc-objs": done, "loc-bytes": bytes, "out-objs": 0, "out-bytes": 0, "in-objs": 0, "in-bytes": 0 },
  };
}

/**
 * The objects a list/range message selects (`objnames`, or a `template`;
 * neither: the whole bucket), those that exist, each checked against
 * `action` for the caller: their paths, in name order.
 */
export async function selectObjects(
  ctx: AisContext,
  principal: Principal,
  bucket: BucketRef,
  value: Record<string, unknown>,
  action: "s3:DeleteObject" | "s3:GetObject",
): Promise<string[]> {
  const dir = bucket.path.slice(1);
  let names: string[];
  if (Array.isArray(value.objnames)) {
    if (value.objnames.some((n) => typeof n !== "string" || n === "")) throw new AisError(400, "objnames must be object names");
    if (value.objnames.length > MAX_JOB_OBJECTS) throw new AisError(400, `more than ${MAX_JOB_OBJECTS} objects in one job`);
    names = [];
    for (const name of new Set(value.objnames as string[])) {
      if ((await ctx.client.find(`${bucket.path}/${name}`))?.type === "file") names.push(name);
    }
  } else {
    const template = new Template(typeof value.template === "string" ? value.template : "");
    names = [];
    let startAfter = "";
    for (;;) {
      const page = await ctx.client.listKeys(dir, { prefix: template.prefix, delimiter: "", startAfter, maxKeys: 1000 });
      for (const k of page.keys) if (template.matches(k.key)) names.push(k.key);
      if (names.length > MAX_JOB_OBJECTS) throw new AisError(400, `more than ${MAX_JOB_OBJECTS} objects in one job: split the range`);
      if (!page.truncated) break;
      startAfter = page.last;
    }
  }
  const paths = names.sort().map((n) => `${bucket.path}/${n}`);
  for (const path of paths) await may(ctx, principal, action, path);
  return paths;
}

/** Starts a job of the job runner for an AIS action (always a new one); its id, the body AIS answers. */
export async function startJob(
  cluster: Cluster,
  aisKind: string,
  kind: JobKind,
  paths: string[],
  options: JobRecord["options"] = {},
): Promise<string> {
  const { id } = await cluster.submitJob({ kind, alias: aisKind, paths, index: "", options }, () => false);
  return id;
}
