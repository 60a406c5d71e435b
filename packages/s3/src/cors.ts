import type { FileInfo } from "@koine/protocol";
import { readSmallBody } from "./body.ts";
import { requireBucket } from "./buckets.ts";
import type { S3Context, S3Deps } from "./context.ts";
import { s3Error } from "./errors.ts";
import { pathOf } from "./names.ts";
import { parseS3Xml, s3Xml } from "./xml.ts";

/** One CORS rule of a bucket, as S3's CORSRule. */
export interface CorsRule {
  id?: string;
  allowedMethods: string[];
  allowedOrigins: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

const METHODS = new Set(["GET", "PUT", "POST", "DELETE", "HEAD"]);
const MAX_RULES = 100;

function texts(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw s3Error("MalformedXML");
  return (value as string[]).map((v) => v.trim());
}

/** A CORSConfiguration document, checked as S3 checks it. */
export function parseCorsConfiguration(body: Buffer): CorsRule[] {
  const doc = parseS3Xml(body, "CORSConfiguration");
  const raw = doc.CORSRule;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_RULES) throw s3Error("MalformedXML");
  return raw.map((r) => {
    if (typeof r !== "object" || r === null) throw s3Error("MalformedXML");
    const rule = r as Record<string, unknown>;
    const allowedMethods = texts(rule.AllowedMethod);
    const allowedOrigins = texts(rule.AllowedOrigin);
    if (allowedMethods.length === 0 || allowedOrigins.length === 0) throw s3Error("MalformedXML");
    for (const method of allowedMethods) {
      if (!METHODS.has(method))
        throw s3Error("InvalidRequest", `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`);
    }
    for (const origin of allowedOrigins) {
      if (origin.split("*").length > 2) {
        throw s3Error("InvalidRequest", `AllowedOrigin "${origin}" can not have more than one wildcard.`);
      }
    }
    const allowedHeaders = texts(rule.AllowedHeader);
    for (const header of allowedHeaders) {
      if (header.split("*").length > 2) {
        throw s3Error("InvalidRequest", `AllowedHeader "${header}" can not have more than one wildcard.`);
      }
    }
    const maxAge = rule.MaxAgeSeconds;
    if (maxAge !== undefined && !/^\d+$/.test(String(maxAge).trim())) throw s3Error("MalformedXML");
    return {
      ...(typeof rule.ID === "string" ? { id: rule.ID } : {}),
      allowedMethods,
      allowedOrigins,
      allowedHeaders,
      exposeHeaders: texts(rule.ExposeHeader),
      ...(maxAge === undefined ? {} : { maxAgeSeconds: Number(String(maxAge).trim()) }),
    };
  });
}

/** `value` against a pattern with at most one "*" (any run of characters). */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star < 0) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

/** The first rule that allows `origin` to make a `method` request sending `headers` (lower-case names). */
export function matchingRule(rules: readonly CorsRule[], origin: string, method: string, headers: readonly string[]): CorsRule | undefined {
  return rules.find(
    (rule) =>
      rule.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
      rule.allowedMethods.includes(method) &&
      headers.every((h) => rule.allowedHeaders.some((a) => wildcardMatch(a.toLowerCase(), h))),
  );
}

function rulesOf(bucket: FileInfo): CorsRule[] | undefined {
  return bucket.cors ? (JSON.parse(bucket.cors) as CorsRule[]) : undefined;
}

/** The Access-Control-* headers a rule gives a request from `origin`. */
function allowHeaders(ctx: S3Context, rule: CorsRule, origin: string): void {
  const any = rule.allowedOrigins.includes("*");
  ctx.reply.header("access-control-allow-origin", any ? "*" : origin);
  if (!any) ctx.reply.header("access-control-allow-credentials", "true");
  if (rule.exposeHeaders.length) ctx.reply.header("access-control-expose-headers", rule.exposeHeaders.join(", "));
  ctx.reply.header("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

/**
 * The CORS headers of an actual (not preflight) request that carries an
 * Origin: those of the bucket's first rule that allows it; none otherwise
 * (the browser then keeps the answer from the page).
 */
export async function corsForRequest(ctx: S3Context, deps: S3Deps): Promise<void> {
  const origin = ctx.req.headers.origin;
  if (origin === undefined || ctx.bucket === undefined) return;
  const bucket = await deps.client.find(pathOf(ctx.bucket)).catch(() => undefined);
  const rules = bucket?.type === "directory" ? rulesOf(bucket) : undefined;
  const rule = rules && matchingRule(rules, origin, ctx.req.method, []);
  if (rule) allowHeaders(ctx, rule, origin);
}

/** A browser's preflight (OPTIONS): allowed by a rule of the bucket's, or 403 as S3 answers. */
export async function preflight(ctx: S3Context, deps: S3Deps) {
  const origin = ctx.req.headers.origin;
  const method = ctx.req.headers["access-control-request-method"];
  if (origin === undefined) throw s3Error("BadRequest", "Insufficient information. Origin request header needed.");
  if (typeof method !== "string" || !METHODS.has(method)) {
    throw s3Error("BadRequest", `Invalid Access-Control-Request-Method: ${method ?? "null"}`);
  }
  const requested = String(ctx.req.headers["access-control-request-headers"] ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const bucket = await deps.client.find(pathOf(ctx.bucket as string));
  if (bucket?.type !== "directory") throw s3Error("AccessForbidden", "CORSResponse: Bucket not found");
  const rules = rulesOf(bucket);
  if (!rules) throw s3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.");
  const rule = matchingRule(rules, origin, method, requested);
  if (!rule) {
    throw s3Error(
      "AccessForbidden",
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    );
  }
  allowHeaders(ctx, rule, origin);
  ctx.reply.header("access-control-allow-methods", rule.allowedMethods.join(", "));
  if (requested.length) ctx.reply.header("access-control-allow-headers", requested.join(", "));
  if (rule.maxAgeSeconds !== undefined) ctx.reply.header("access-control-max-age", rule.maxAgeSeconds);
  return ctx.reply.code(200).send();
}

export async function putBucketCors(ctx: S3Context, deps: S3Deps) {
  const rules = parseCorsConfiguration(await readSmallBody(ctx.req.raw, ctx.auth, deps.bodyIdleTimeoutMs, 64 * 1024));
  await requireBucket(deps.client, ctx.bucket as string);
  await deps.client.setAttributes(pathOf(ctx.bucket as string), { cors: JSON.stringify(rules) });
  return ctx.reply.send();
}

export async function getBucketCors(ctx: S3Context, deps: S3Deps) {
  const rules = rulesOf(await requireBucket(deps.client, ctx.bucket as string));
  if (!rules) throw s3Error("NoSuchCORSConfiguration", undefined, { BucketName: ctx.bucket as string });
  return ctx.reply.type("application/xml").send(
    s3Xml("CORSConfiguration", {
      CORSRule: rules.map((r) => ({
        ...(r.id !== undefined ? { ID: r.id } : {}),
        ...(r.allowedHeaders.length ? { AllowedHeader: r.allowedHeaders } : {}),
        AllowedMethod: r.allowedMethods,
        AllowedOrigin: r.allowedOrigins,
        ...(r.exposeHeaders.length ? { ExposeHeader: r.exposeHeaders } : {}),
        ...(r.maxAgeSeconds !== undefined ? { MaxAgeSeconds: r.maxAgeSeconds } : {}),
      })),
    }),
  );
}

export async function deleteBucketCors(ctx: S3Context, deps: S3Deps) {
  await requireBucket(deps.client, ctx.bucket as string);
  await deps.client.setAttributes(pathOf(ctx.bucket as string), { cors: "" });
  return ctx.reply.code(204).send();
}
