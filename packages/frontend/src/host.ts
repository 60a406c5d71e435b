import { type Logger, requestIdFrom, withRequestId } from "@koine/log";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";

/**
 * A fastify server as every koine HTTP endpoint runs one: logging through
 * `log` (one line per request, at debug), each request with an id (the
 * client's x-request-id when sensible, echoed back) that its log lines, NATS
 * requests and cache-node calls carry, and the connection closed when an
 * answer goes out before the request's body was read.
 */
export function httpHost(log: Logger, options: Omit<FastifyServerOptions, "logger" | "loggerInstance"> = {}): FastifyInstance {
  const app = Fastify({
    ...options,
    loggerInstance: log as FastifyBaseLogger,
    // One line per request (onResponse below), not fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // The logger adds the request's id itself (from where the request runs), so fastify's binding would repeat it.
    childLoggerFactory: (logger, _bindings, options) => logger.child({}, options),
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers["x-request-id"]),
  });
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    withRequestId(request.id, done);
  });
  app.addHook("onResponse", async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
  });
  // A socket left with unread bytes is never read again, and would stay open until the process stops.
  app.addHook("onSend", async (request, reply) => {
    if (!request.raw.complete) reply.header("connection", "close");
  });
  return app as unknown as FastifyInstance;
}
