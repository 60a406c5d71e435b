import type { IncomingHttpHeaders } from "node:http";
import { type FileAttributes, type FileInfo, type ObjectLock, type Retention, versionIdOf } from "@koine/protocol";
import { readSmallBody } from "./body.ts";
import { requireBucket } from "./buckets.ts";
import type { S3Context, S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";
import { requestedObject } from "./objects.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

const XML = "application/xml";
const DAY_MS = 86_400_000;
const MODES = new Set(["GOVERNANCE", "COMPLIANCE"]);

function mode(text: unknown): Retention["mode"] {
  if (typeof text !== "string" || !MODES.has(text)) throw s3Error("MalformedXML", "Mode is GOVERNANCE or COMPLIANCE");
  return text as Retention["mode"];
}

/** An ISO 8601 date S3 takes as a retain-until date, in the future. */
function untilMs(text: unknown, what: string): number {
  const ms = typeof text === "string" ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw s3Error("InvalidArgument", `${what} must be an ISO 8601 date`);
  if (ms <= Date.now()) throw s3Error("InvalidArgument", "The retain until date must be in the future!");
  return ms;
}

/**
 * The Object Lock a write asks for: x-amz-object-lock-mode with
 * -retain-until-date (both or neither), x-amz-object-lock-legal-hold; else
 * the bucket's default retention. Only in a bucket with Object Lock.
 */
export function lockAttributes(headers: IncomingHttpHeaders, bucket: FileInfo): Pick<FileAttributes, "retention" | "legalHold"> {
  const modeHeader = headers["x-amz-object-lock-mode"];
  const untilHeader = headers["x-amz-object-lock-retain-until-date"];
  const holdHeader = headers["x-amz-object-lock-legal-hold"];
  const asked = modeHeader !== undefined || untilHeader !== undefined || holdHeader !== undefined;
  if (!bucket.objectLock) {
    if (asked) throw s3Error("InvalidRequest", "Bucket is missing Object Lock Configuration");
    return {};
  }
  if ((modeHeader === undefined) !== (untilHeader === undefined)) {
    throw s3Error("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied");
  }
  if (holdHeader !== undefined && holdHeader !== "ON" && holdHeader !== "OFF") {
    throw s3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'");
  }
  const legalHold = holdHeader === "ON" ? { legalHold: true } : {};
  if (modeHeader !== undefined) {
    if (!MODES.has(String(modeHeader))) throw s3Error("InvalidArgument", "Unknown wormMode directive.");
    return {
      retention: { mode: modeHeader as Retention["mode"], untilMs: untilMs(untilHeader, "x-amz-object-lock-retain-until-date") },
      ...legalHold,
    };
  }
  const { defaultMode, defaultDays, defaultYears } = bucket.objectLock;
  if (!defaultMode) return legalHold;
  const days = defaultDays ?? (defaultYears ?? 0) * 365;
  return { retention: { mode: defaultMode, untilMs: Date.now() + days * DAY_MS }, ...legalHold };
}

/** The Object Lock headers of GET and HEAD. */
export function lockHeaders(ctx: S3Context, info: FileInfo): void {
  if (info.retention) {
    ctx.reply.header("x-amz-object-lock-mode", info.retention.mode);
    ctx.reply.header("x-amz-object-lock-retain-until-date", new Date(info.retention.untilMs).toISOString());
  }
  if (info.legalHold !== undefined) ctx.reply.header("x-amz-object-lock-legal-hold", info.legalHold ? "ON" : "OFF");
}

/** Whether the request asks to bypass GOVERNANCE retention and its signer may (the bucket's owner, an admin). */
export async function bypassesGovernance(ctx: S3Context, deps: S3Deps): Promise<boolean> {
  if (String(ctx.req.headers["x-amz-bypass-governance-retention"] ?? "").toLowerCase() !== "true") return false;
  await deps.client.authorize(ctx.principal, "s3:BypassGovernanceRetention", pathOf(ctx.bucket as string));
  return true;
}

export async function putObjectLockConfiguration(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const dir = await requireBucket(deps.client, bucket);
  const doc = parseS3Xml(body, "ObjectLockConfiguration");
  if (doc.ObjectLockEnabled !== "Enabled") throw s3Error("MalformedXML", "ObjectLockEnabled must be Enabled");
  if (dir.versioning !== "Enabled") {
    throw s3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
  }
  const retention = ((doc.Rule ?? {}) as Record<string, unknown>).DefaultRetention as Record<string, unknown> | undefined;
  const lock: ObjectLock = {};
  if (retention !== undefined) {
    const days = retention.Days === undefined ? undefined : Number(retention.Days);
    const years = retention.Years === undefined ? undefined : Number(retention.Years);
    if ((days === undefined) === (years === undefined)) throw s3Error("MalformedXML", "DefaultRetention takes Days or Years");
    const count = (days ?? years) as number;
    if (!Number.isInteger(count) || count < 1)
      throw s3Error("InvalidArgument", "Default retention period must be a positive integer value");
    lock.defaultMode = mode(retention.Mode);
    if (days !== undefined) lock.defaultDays = days;
    else lock.defaultYears = years as number;
  }
  await deps.client.setAttributes(pathOf(bucket), { objectLock: lock });
  return ctx.reply.send();
}

export async function getObjectLockConfiguration(ctx: S3Context, deps: S3Deps) {
  const dir = await requireBucket(deps.client, ctx.bucket as string);
  const lock = dir.objectLock;
  if (!lock) throw s3Error("ObjectLockConfigurationNotFoundError", undefined, { BucketName: dir.name });
  const period = lock.defaultDays !== undefined ? { Days: lock.defaultDays } : { Years: lock.defaultYears };
  return ctx.reply.type(XML).send(
    s3Xml("ObjectLockConfiguration", {
      ObjectLockEnabled: "Enabled",
      ...(lock.defaultMode ? { Rule: { DefaultRetention: { Mode: lock.defaultMode, ...period } } } : {}),
    }),
  );
}

/** The version of this request (its versionId, or the current one), in a bucket with Object Lock. */
async function lockedVersion(ctx: S3Context, deps: S3Deps): Promise<FileInfo> {
  const dir = await requireBucket(deps.client, ctx.bucket as string);
  if (!dir.objectLock) throw s3Error("InvalidRequest", "Bucket is missing Object Lock Configuration");
  return requestedObject(ctx, deps);
}

/** Changes the retention or legal hold of version `info`, by its id. */
async function setLock(ctx: S3Context, deps: S3Deps, info: FileInfo, attributes: Pick<FileAttributes, "retention" | "legalHold">) {
  await deps.client.setAttributes(pathOf(ctx.bucket as string, ctx.key), attributes, {
    versionId: versionIdOf(info),
    bypassGovernance: await bypassesGovernance(ctx, deps),
  });
}

export async function putObjectRetention(ctx: S3Context, deps: S3Deps) {
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const info = await lockedVersion(ctx, deps);
  const doc = parseS3Xml(body, "Retention");
  const retention =
    doc.Mode === undefined && doc.RetainUntilDate === undefined
      ? null
      : { mode: mode(doc.Mode), untilMs: untilMs(doc.RetainUntilDate, "RetainUntilDate") };
  await setLock(ctx, deps, info, { retention });
  return ctx.reply.send();
}

export async function getObjectRetention(ctx: S3Context, deps: S3Deps) {
  const info = await lockedVersion(ctx, deps);
  if (!info.retention) throw s3Error("NoSuchObjectLockConfiguration");
  return ctx.reply
    .type(XML)
    .send(s3Xml("Retention", { Mode: info.retention.mode, RetainUntilDate: new Date(info.retention.untilMs).toISOString() }));
}

export async function putObjectLegalHold(ctx: S3Context, deps: S3Deps) {
  const body = await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024);
  const info = await lockedVersion(ctx, deps);
  const status = parseS3Xml(body, "LegalHold").Status;
  if (status !== "ON" && status !== "OFF") throw s3Error("MalformedXML", "Status is ON or OFF");
  await setLock(ctx, deps, info, { legalHold: status === "ON" });
  return ctx.reply.send();
}

export async function getObjectLegalHold(ctx: S3Context, deps: S3Deps) {
  const info = await lockedVersion(ctx, deps);
  if (info.legalHold === undefined) throw s3Error("NoSuchObjectLockConfiguration");
  return ctx.reply.type(XML).send(s3Xml("LegalHold", { Status: info.legalHold ? "ON" : "OFF" }));
}
