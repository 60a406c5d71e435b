import { anonymous, type Identities, principalOf } from "@koine/access";
import type { FileSystemClient } from "@koine/client";
import { streamedBodies } from "@koine/frontend";
import { nameOperation } from "@koine/metrics";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { authorize, getAcl, putAcl } from "./access.ts";
import * as buckets from "./buckets.ts";
import type { S3Context, S3Deps, S3Handler } from "./context.ts";
import * as cors from "./cors.ts";
import { type S3Error, s3Error, toS3Error } from "./errors.ts";
import * as multipart from "./multipart.ts";
import * as objectLock from "./object_lock.ts";
import * as objects from "./objects.ts";
import * as policies from "./policies.ts";
import { postObject } from "./post_object.ts";
import { ANONYMOUS, parseQuery, verifyRequest } from "./sigv4.ts";
import * as tagging from "./tagging.ts";
import * as versions from "./versions.ts";
import { s3Xml } from "./xml.ts";

export interface S3PluginOptions {
  client: FileSystemClient;
  /** The users requests are signed by. */
  identities: Identities;
  region?: string;
  bodyIdleTimeoutMs?: number;
  /** Domains for virtual-hosted-style requests (`<bucket>.<domain>`). @default ["localhost"] */
  virtualHostDomains?: string[];
}

export const DEFAULT_REGION = "us-east-1";
/** Host names under which `<bucket>.<domain>` addresses a bucket (virtual-hosted style). */
export const DEFAULT_VIRTUAL_HOST_DOMAINS = ["localhost"];

/** The bucket of a virtual-hosted-style Host header ("photos.s3.example.com:9000"), if it is one. */
export function virtualHostBucket(host: string | undefined, domains: readonly string[]): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, "").toLowerCase();
  for (const domain of domains) {
    if (name.length > domain.length + 1 && name.endsWith(`.${domain}`)) return name.slice(0, -domain.length - 1);
  }
  return undefined;
}
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 20_000;

/** Subresources koine does not implement yet, by where they apply. */
const UNSUPPORTED_BUCKET = [
  "policyStatus",
  "lifecycle",
  "website",
  "logging",
  "notification",
  "replication",
  "encryption",
  "ownershipControls",
  "accelerate",
  "requestPayment",
  "analytics",
  "metrics",
  "inventory",
  "intelligent-tiering",
];
const UNSUPPORTED_OBJECT = ["restore", "select", "torrent"];

function notImplemented(what: string): S3Handler {
  return async () => {
    throw s3Error("NotImplemented", `${what} is not implemented`);
  };
}

type SubresourceTable = Record<string, Partial<Record<string, S3Handler>>>;

/** Operations on a bucket's subresources, by subresource and method. */
const BUCKET_SUBRESOURCES: SubresourceTable = {
  acl: { GET: getAcl, PUT: putAcl },
  cors: { GET: cors.getBucketCors, PUT: cors.putBucketCors, DELETE: cors.deleteBucketCors },
  "object-lock": { GET: objectLock.getObjectLockConfiguration, PUT: objectLock.putObjectLockConfiguration },
  tagging: { GET: tagging.getBucketTagging, PUT: tagging.putBucketTagging, DELETE: tagging.deleteBucketTagging },
  policy: { GET: policies.getBucketPolicy, PUT: policies.putBucketPolicy, DELETE: policies.deleteBucketPolicy },
  publicAccessBlock: {
    GET: policies.getPublicAccessBlock,
    PUT: policies.putPublicAccessBlock,
    DELETE: policies.deletePublicAccessBlock,
  },
};

/** Operations on an object's subresources, by subresource and method. */
const OBJECT_SUBRESOURCES: SubresourceTable = {
  acl: { GET: getAcl, PUT: putAcl },
  tagging: { GET: tagging.getObjectTagging, PUT: tagging.putObjectTagging, DELETE: tagging.deleteObjectTagging },
  retention: { GET: objectLock.getObjectRetention, PUT: objectLock.putObjectRetention },
  "legal-hold": { GET: objectLock.getObjectLegalHold, PUT: objectLock.putObjectLegalHold },
};

function subresourceOperation(table: SubresourceTable, method: string, ctx: S3Context): S3Handler | undefined {
  for (const [name, byMethod] of Object.entries(table)) {
    if (ctx.query.has(name)) return byMethod[method] ?? notImplemented(`${method} on subresource "${name}"`);
  }
  return undefined;
}

/** Picks the operation for a request, as S3 does: by method, bucket, key and subresource. */
function route(method: string, ctx: S3Context): S3Handler {
  const has = (name: string) => ctx.query.has(name);
  const unsupported = (list: string[]) => list.find(has);
  if (ctx.bucket === undefined) {
    if (method === "GET") return buckets.listBuckets;
    return notImplemented(`${method} on the service`);
  }
  // A browser's preflight, on any route of a bucket.
  if (method === "OPTIONS") return cors.preflight;
  if (ctx.key === undefined) {
    const sub = unsupported(UNSUPPORTED_BUCKET);
    if (sub) return notImplemented(`Bucket subresource "${sub}" (${method})`);
    const subresource = subresourceOperation(BUCKET_SUBRESOURCES, method, ctx);
    if (subresource) return subresource;
    switch (method) {
      case "GET":
        if (has("location")) return buckets.getBucketLocation;
        if (has("versioning")) return versions.getBucketVersioning;
        if (has("uploads")) return multipart.listMultipartUploads;
        if (has("versions")) return versions.listObjectVersions;
        return buckets.listObjects;
      case "HEAD":
        return buckets.headBucket;
      case "PUT":
        if (has("versioning")) return versions.putBucketVersioning;
        return buckets.createBucket;
      case "DELETE":
        return buckets.deleteBucket;
      case "POST":
        if (has("delete")) return objects.deleteObjects;
        return postObject;
    }
    return notImplemented(`${method} on a bucket`);
  }
  const sub = unsupported(UNSUPPORTED_OBJECT);
  if (sub) return notImplemented(`Object subresource "${sub}" (${method})`);
  const subresource = subresourceOperation(OBJECT_SUBRESOURCES, method, ctx);
  if (subresource) return subresource;
  switch (method) {
    case "GET":
      if (has("uploadId")) return multipart.listParts;
      if (has("attributes")) return objects.getObjectAttributes;
      return objects.getObject;
    case "HEAD":
      return (ctx, deps) => objects.getObject(ctx, deps, true);
    case "PUT":
      if (has("uploadId") || has("partNumber")) return multipart.uploadPart;
      return objects.putObject;
    case "DELETE":
      if (has("uploadId")) return multipart.abortMultipartUpload;
      return objects.deleteObject;
    case "POST":
      if (has("uploads")) return multipart.createMultipartUpload;
      if (has("uploadId")) return multipart.completeMultipartUpload;
      return notImplemented("POST on an object");
  }
  return notImplemented(`${method} on an object`);
}

/** The name S3 gives an operation ("GetObject"), for metrics. */
function operationName(method: string, ctx: S3Context, handler: S3Handler): string {
  if (method === "HEAD") return ctx.key === undefined ? "HeadBucket" : "HeadObject";
  const name = handler.name;
  return name === "" ? "NotImplemented" : name[0]?.toUpperCase() + name.slice(1);
}

function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Percent-escapes that are not UTF-8 (a key is UTF-8), or broken ones.
    throw s3Error("InvalidURI", "The request URL is not correctly encoded");
  }
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: S3Error, requestId: string, resource: string) {
  if (!req.raw.complete) reply.header("connection", "close");
  // Headers of the object a failed request was about to send do not describe an error.
  for (const name of Object.keys(reply.getHeaders())) {
    if (name.startsWith("x-amz-checksum-") || name === "etag" || name === "last-modified") reply.removeHeader(name);
  }
  reply.code(err.status).header("x-amz-request-id", requestId).headers(err.headers);
  if (req.method === "HEAD") return reply.send();
  return reply
    .type("application/xml")
    .send(s3Xml("Error", { Code: err.code, Message: err.message, ...err.extra, Resource: resource, RequestId: requestId }, false));
}

/** Answers requests fastify cannot route (FST_ERR_BAD_URL: escapes that are not UTF-8) as S3 does: InvalidURI. */
export function s3FrameworkErrors(err: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply): void {
  const rawPath = (req.raw.url ?? "/").split("?")[0] as string;
  const s3 =
    err.code === "FST_ERR_BAD_URL"
      ? s3Error("InvalidURI", "The request URL is not correctly encoded")
      : s3Error("InvalidRequest", err.message);
  void sendError(req, reply, s3, req.id, rawPath);
}

/**
 * Answers errors Node's HTTP parser finds before a handler runs (a body
 * cut short, headers too large, garbage) as S3 XML errors.
 */
export function s3ClientErrorHandler(err: Error & { code?: string }, socket: import("node:net").Socket): void {
  if (!socket.writable) return;
  const [status, code] =
    err.code === "HPE_INVALID_EOF_STATE"
      ? [400, "IncompleteBody"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [400, "RequestHeaderSectionTooLarge"]
        : [400, "BadRequest"];
  const body = s3Xml("Error", { Code: code, Message: err.message }, false);
  socket.end(
    `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The S3 dialect as a fastify plugin: path-style addressing below the
 * prefix it is registered at, or virtual-hosted style; SigV4 (and SigV2
 * presigned URLs) on every request but public reads; bodies streamed.
 */
export const s3Plugin: FastifyPluginAsync<S3PluginOptions> = async (app, options) => {
  const deps: S3Deps = {
    client: options.client,
    identities: options.identities,
    region: options.region ?? DEFAULT_REGION,
    bodyIdleTimeoutMs: options.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS,
  };
  const domains = (options.virtualHostDomains ?? DEFAULT_VIRTUAL_HOST_DOMAINS).map((d) => d.toLowerCase());
  streamedBodies(app);
  // The handler answers its own errors (it knows the bucket and key); anything fastify meets before it, as S3 XML too.
  app.setErrorHandler((err, req, reply) => {
    const rawPath = (req.raw.url ?? "/").split("?")[0] as string;
    const status = (err as { statusCode?: number }).statusCode;
    const s3 = status !== undefined && status < 500 ? s3Error("InvalidRequest", (err as Error).message) : toS3Error(err, {});
    if (s3.code === "InternalError") req.log.error({ err, path: rawPath }, "internal error");
    return sendError(req, reply, s3, req.id, rawPath);
  });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    // The host's id of the request (the client's x-request-id, when it sent one).
    const requestId = req.id;
    const url = req.raw.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? "" : url.slice(q + 1);
    const prefix = app.prefix;
    const local = rawPath.slice(prefix.length) || "/";
    const ctx: Partial<S3Context> = { req, reply, requestId };
    try {
      const hostBucket = virtualHostBucket(req.headers.host, domains);
      if (hostBucket !== undefined) {
        // Virtual-hosted style: the bucket is in the host name, the whole path is the key.
        ctx.bucket = hostBucket;
        ctx.key = local.length > 1 ? decodeSegment(local.slice(1)) : undefined;
      } else {
        const slash = local.indexOf("/", 1);
        const bucketPart = slash < 0 ? local.slice(1) : local.slice(1, slash);
        const keyPart = slash < 0 ? "" : local.slice(slash + 1);
        ctx.bucket = bucketPart === "" ? undefined : decodeSegment(bucketPart);
        ctx.key = keyPart === "" ? undefined : decodeSegment(keyPart);
      }
      ctx.query = new Map();
      for (const [k, v] of parseQuery(rawQuery)) if (!ctx.query.has(k)) ctx.query.set(k, v);
      reply.header("x-amz-request-id", requestId);
      // A browser's preflight carries the URL it asks about, presigned for the request to come: it is not that request's signature.
      const auth =
        req.method === "OPTIONS"
          ? ANONYMOUS
          : verifyRequest(
              req.raw,
              rawPath,
              rawQuery,
              (ak) => options.identities.secretOf(ak),
              hostBucket === undefined ? "" : `/${hostBucket}`,
            );
      ctx.auth = auth;
      const facts = { sourceIp: req.ip, secureTransport: req.protocol === "https" };
      const user = auth.anonymous ? undefined : options.identities.userOf(auth.accessKey);
      ctx.principal = user ? principalOf(user, facts) : anonymous(facts);
      const full = ctx as S3Context;
      const operation = route(req.method, full);
      if (req.method !== "OPTIONS") await cors.corsForRequest(full, deps);
      const name = operationName(req.method, full, operation);
      nameOperation(req.raw, name);
      await authorize(full, deps, name);
      return await operation(full, deps);
    } catch (err) {
      const s3 = toS3Error(err, { ...(ctx.bucket ? { bucket: ctx.bucket } : {}), ...(ctx.key !== undefined ? { key: ctx.key } : {}) });
      // A 5xx is logged once, with its cause (the request's id comes with every line).
      if (s3.code === "InternalError") req.log.error({ err: s3.cause ?? err, path: rawPath }, "internal error");
      else if (s3.status >= 500) req.log.warn({ path: rawPath, status: s3.status, code: s3.code }, s3.message);
      if (reply.sent) {
        reply.raw.destroy();
        return reply;
      }
      return sendError(req, reply, s3, requestId, rawPath);
    }
  };
  const methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"] as const;
  app.route({ method: [...methods], url: "/", handler, exposeHeadRoute: false });
  app.route({ method: [...methods], url: "/*", handler, exposeHeadRoute: false });
};
