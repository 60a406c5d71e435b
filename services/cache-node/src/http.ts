import { DataSchemas, ErrorCode, errorCodeOf, KoineError } from "@koine/protocol";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { checkBlock, type DataEngine } from "./data_engine.ts";

const STATUS: Record<string, number> = {
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Stale]: 409,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.Unavailable]: 503,
};

function parse<S extends TSchema>(schema: S, input: unknown): import("@sinclair/typebox").Static<S> {
  const value = Value.Convert(schema, input);
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new KoineError(ErrorCode.InvalidArgument, `Invalid request: ${first?.path} ${first?.message}`);
  }
  return value;
}

/** Answers with the error's status; a request whose body was cut off mid-way also loses its connection, so none is read as the next request. */
function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (!reply.request.raw.complete) reply.header("connection", "close");
  const code = err instanceof RangeError ? ErrorCode.InvalidArgument : errorCodeOf(err);
  if (code === ErrorCode.Internal) console.error("cache-node:", err);
  return reply.code(STATUS[code] ?? 500).send({ code, message: err instanceof Error ? err.message : String(err) });
}

/** The data endpoint of a cache node: range reads, write-through, cache-only blocks, concatenation. */
export function buildHttp(engine: DataEngine): FastifyInstance {
  const app = Fastify({ logger: false, requestTimeout: 0, keepAliveTimeout: 65_000, bodyLimit: 16 * 1024 * 1024 });
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
      const range = parse(DataSchemas.ReadRange, req.query);
      const stream = await engine.read(range);
      return reply.header("content-type", "application/octet-stream").header("content-length", range.length).send(stream);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.put("/data", async (req, reply) => {
    try {
      const query = req.query as Record<string, string>;
      const target = parse(DataSchemas.WriteTarget, {
        ...query,
        cacheBlocks: query.cacheBlocks ? query.cacheBlocks.split(",") : [],
      });
      return reply.send(await engine.write(target, req.raw));
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.put("/block", async (req, reply) => {
    try {
      const target = parse(DataSchemas.BlockTarget, req.query);
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

  app.get("/healthz", async () => ({ ok: true }));
  return app;
}
