import type { Tls } from "@koine/config";
import { type Logger, requestIdFrom, withRequestId } from "@koine/log";
import { countedBody, observeHttp } from "@koine/metrics";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyServerOptions,
  LogController,
  type onRequestHookHandler,
} from "fastify";

export interface HttpHostOptions extends Omit<FastifyServerOptions, "logger" | "loggerInstance"> {
  /** The dialect label of requests no dialect plugin routes (health, metrics, not found). @default "koine" */
  dialect?: string;
  /** Serve HTTPS with this certificate and key. */
  tls?: Tls | undefined;
}

/** The URL scheme of a host made with `tls` (or not). */
export function schemeOf(tls: Tls | undefined): "https" | "http" {
  return tls ? "https" : "http";
}

/**
 * A fastify server as every koine HTTP endpoint runs one: logging through
 * `log` (one line per request, at debug), each request with an id (the
 * client's x-request-id when sensible, echoed back) that its log lines, NATS
 * requests and cache-node calls carry, and the connection closed when an
 * answer goes out before the request's body was read. Every request is
 * counted in the `koine_http_*` metrics, under the dialect whose plugin
 * routed it ({@link registerDialect}).
 */
export function httpHost(log: Logger, options: HttpHostOptions = {}): FastifyInstance {
  const { dialect = "koine", tls, ...fastifyOptions } = options;
  const app = Fastify({
    ...fastifyOptions,
    ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
    loggerInstance: log as FastifyBaseLogger,
    // One line per request (onResponse below), not fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // The logger adds the request's id itself (from where the request runs), so fastify's binding would repeat it.
    childLoggerFactory: (logger, _bindings, options) => logger.child({}, options),
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers["x-request-id"]),
  });
  // Each route counts its requests from its own hook, its labels worked out once (a dialect's plugin names its routes' dialect).
  app.addHook("onRoute", (route) => {
    let routeDialect: string | undefined;
    const names: Record<string, string> = {};
    const observe: onRequestHookHandler = (request, reply, done) => {
      routeDialect ??= (route.config as { dialect?: string } | undefined)?.dialect ?? dialect;
      names[request.method] ??= `${request.method} ${route.url}`;
      observeHttp(request.raw, reply.raw, routeDialect, names[request.method] as string);
      done();
    };
    route.onRequest = [observe, ...[route.onRequest ?? []].flat()];
  });
  // Requests no route takes are counted too, then answered as fastify would.
  app.setNotFoundHandler(
    {
      preHandler: (request, reply, done) => {
        observeHttp(request.raw, reply.raw, dialect, "unrouted");
        done();
      },
    },
    (request, reply) => {
      reply.code(404).send({ message: `Route ${request.method}:${request.url} not found`, error: "Not Found", statusCode: 404 });
    },
  );
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    withRequestId(request.id, done);
  });
  app.addHook("onResponse", async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
  });
  // A socket left with unread bytes is never read again, and would stay open until the process stops.
  app.addHook("onSend", async (request, reply, payload) => {
    if (!request.raw.complete) reply.header("connection", "close");
    return countedBody(reply.raw, payload);
  });
  return app as unknown as FastifyInstance;
}

/**
 * Registers a dialect's plugin (at `prefix`, if given): its routes' requests
 * are counted under `dialect` in the host's metrics.
 */
export async function registerDialect<O extends object>(
  app: FastifyInstance,
  dialect: string,
  plugin: FastifyPluginAsync<O>,
  options: O & { prefix?: string },
): Promise<void> {
  const { prefix, ...pluginOptions } = options;
  await app.register(
    async (scope) => {
      scope.addHook("onRoute", (route) => {
        route.config = { ...(route.config as object | undefined), dialect };
      });
      await scope.register(plugin, pluginOptions as O);
    },
    prefix === undefined ? {} : { prefix },
  );
}
