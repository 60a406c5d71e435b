import { DATA_SIGNATURE_HEADER, type DataRequestSigner } from "@koine/access";
import type { Tls } from "@koine/config";
import { httpHost } from "@koine/frontend";
import type { Logger } from "@koine/log";
import { DataSchemas, ErrorCode, errorCodeOf, HTTP_STATUS, KoineError } from "@koine/protocol";
import type { Static, TObject, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { FastifyInstance, FastifyReply } from "fastify";
import { checkBlock, type DataEngine } from "./data_engine.ts";

/**
 * Query parameters typed as `schema` says: integers from decimal digits only, booleans from "true" and
 * "false" (TypeBox's Value.Convert would read "1e400" and "1.5" as 1); anything else stays a string and fails.
 */
function fromQuery(schema: TObject, query: Record<string, string | string[]>): Record<string, unknown> {
  const typed = (type: string | undefined, text: string): unknown => {
    if (type === "integer" && /^\d{1,16}$/.test(text)) return Number(text);
    if (type === "boolean" && (text === "true" || text === "false")) return text === "true";
    return text;
  };
  const value: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(query)) {
    const property = schema.properties[key] as { type?: string; items?: { type?: string } } | undefined;
    value[key] = Array.isArray(text) ? text.map((t) => typed(property?.items?.type, t)) : typed(property?.type, text);
  }
  return value;
}

function parse<S extends TSchema>(schema: S, value: unknown): Static<S> {
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new KoineError(ErrorCode.InvalidArgument, `Invalid request: ${first?.path} ${first?.message}`);
  }
  return value;
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const code = err instanceof RangeError ? ErrorCode.InvalidArgument : errorCodeOf(err);
  if (code === ErrorCode.Internal) reply.log.error({ err }, "internal error");
  return reply.code(HTTP_STATUS[code]).send({ code, message: err instanceof Error ? err.message : String(err) });
}

/**
 * The data endpoint of a cache node: range reads, write-through, cache-only
 * blocks, concatenation; each request signed by a koine service (a holder
 * of the cluster key), or refused with 401 before it touches anything.
 */
export function buildHttp(engine: DataEngine, log: Logger, signer: DataRequestSigner, tls?: Tls): FastifyInstance {
  const app = httpHost(log, { dialect: "cache", tls, requestTimeout: 0, keepAliveTimeout: 65_000, bodyLimit: 16 * 1024 * 1024 });
  const DATA_PATHS = new Set(["/data", "/block", "/concat"]);
  app.addHook("onRequest", async (req, reply) => {
    const url = req.raw.url ?? "/";
    const path = url.split("?")[0] as string;
    if (!DATA_PATHS.has(path)) return;
    const signature = req.headers[DATA_SIGNATURE_HEADER];
    if (!signer.verify(req.method, url, typeof signature === "string" ? signature : undefined)) {
      // The body is not read: the connection goes with the answer.
      reply.header("connection", "close");
      return sendError(reply, new KoineError(ErrorCode.Unauthenticated, "Data requests are signed by koine services only"));
    }
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err as Error);
    }
  });

  app.get("/data", async (req, reply) => {
    try {
      const range = parse(DataSchemas.ReadRange, fromQuery(DataSchemas.ReadRange, req.query as Record<string, string>));
      const stream = await engine.read(range);
      return reply.header("content-type", "application/octet-stream").header("content-length", range.length).send(stream);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.put("/data", async (req, reply) => {
    try {
      const query = req.query as Record<string, string>;
      const target = parse(
        DataSchemas.WriteTarget,
        fromQuery(DataSchemas.WriteTarget, { ...query, cacheBlocks: query.cacheBlocks ? query.cacheBlocks.split(",") : [] }),
      );
      return reply.send(await engine.write(target, req.raw));
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.put("/block", async (req, reply) => {
    try {
      const target = parse(DataSchemas.BlockTarget, fromQuery(DataSchemas.BlockTarget, req.query as Record<string, string>));
      checkBlock(target, engine.pageSize);
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > target.blockSize) {
        throw new KoineError(ErrorCode.InvalidArgument, `Block ${target.blockIndex} is larger than ${target.blockSize} bytes`);
      }
      return reply.send(await engine.writeBlock(target, req.raw));
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/concat", async (req, reply) => {
    try {
      return reply.send(await engine.concat(parse(DataSchemas.ConcatRequest, req.body)));
    } catch (err) {
      return sendError(reply, err);
    }
  });

  return app;
}
