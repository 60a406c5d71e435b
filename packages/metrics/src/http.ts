import type { IncomingMessage, ServerResponse } from "node:http";
import { type Readable, Transform } from "node:stream";
import { counter, gauge, histogram } from "./registry.ts";

/**
 * HTTP request metrics. The hot path (one call per request) only adds to
 * plain numbers kept here, per (dialect, operation); prom-client reads them
 * when scraped. Body bytes come from Content-Length where the request or
 * answer has one (a complete request, a finished answer), and are counted
 * as they pass only for the rest (chunked bodies).
 */
interface Series {
  labels: { dialect: string; operation: string };
  statuses: Map<string, number>;
  received: number;
  sent: number;
}

const series = new Map<string, Series>();
const inFlight = new Map<string, number>();

function seriesOf(dialect: string, operation: string): Series {
  const key = `${dialect}\u0000${operation}`;
  let s = series.get(key);
  if (!s) {
    s = { labels: { dialect, operation }, statuses: new Map(), received: 0, sent: 0 };
    series.set(key, s);
  }
  return s;
}

const LABELS = ["dialect", "operation"] as const;
counter({
  name: "koine_http_requests_total",
  help: "HTTP requests answered, by dialect, operation and status",
  labelNames: [...LABELS, "status"],
  collect() {
    this.reset();
    for (const s of series.values()) for (const [status, n] of s.statuses) this.inc({ ...s.labels, status }, n);
  },
});
counter({
  name: "koine_http_received_bytes_total",
  help: "Request body bytes received",
  labelNames: LABELS,
  collect() {
    this.reset();
    for (const s of series.values()) if (s.received > 0) this.inc(s.labels, s.received);
  },
});
counter({
  name: "koine_http_sent_bytes_total",
  help: "Response body bytes sent",
  labelNames: LABELS,
  collect() {
    this.reset();
    for (const s of series.values()) if (s.sent > 0) this.inc(s.labels, s.sent);
  },
});
gauge({
  name: "koine_http_requests_in_flight",
  help: "HTTP requests being served",
  labelNames: ["dialect"],
  collect() {
    this.reset();
    for (const [dialect, n] of inFlight) this.set({ dialect }, n);
  },
});
const seconds = histogram({
  name: "koine_http_request_duration_seconds",
  help: "Time from a request's headers to the end of its answer, by dialect and operation",
  labelNames: LABELS,
});

const OPERATION = Symbol("koine.operation");
const RECEIVED = Symbol("koine.received");
const SENT = Symbol("koine.sent");
const DECLARED = Symbol("koine.declared");
type Observed = IncomingMessage & { [OPERATION]?: string; [RECEIVED]?: number };
type Answer = ServerResponse & { [SENT]?: number; [DECLARED]?: number };

/** Names the operation a request is (S3's "GetObject", ...), for its metrics; else it goes by method and route. */
export function nameOperation(req: IncomingMessage, operation: string): void {
  (req as Observed)[OPERATION] = operation;
}

/**
 * Counts one request from its headers on: its time, its status once the
 * response closes (finished or cut off), its body bytes. Call as soon as
 * the request is routed, before its body is read; `route` names the
 * operation when the dialect did not.
 */
export function observeHttp(req: IncomingMessage, res: ServerResponse, dialect: string, route: string): void {
  const started = performance.now();
  inFlight.set(dialect, (inFlight.get(dialect) ?? 0) + 1);
  // A body of no declared length is counted as the HTTP parser hands it over.
  if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] !== undefined) {
    const observed = req as Observed;
    observed[RECEIVED] = 0;
    const push = req.push;
    req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
      observed[RECEIVED] = (observed[RECEIVED] ?? 0) + ((chunk as Buffer | null)?.length ?? 0);
      return push.call(this, chunk, encoding);
    };
  }
  // Fastify passes a buffered answer's headers to writeHead, where getHeader does not see them: its length is taken there.
  const writeHead = res.writeHead;
  res.writeHead = function (this: Answer, ...args: unknown[]) {
    const headers = args.find((a): a is Record<string, unknown> => typeof a === "object" && a !== null && !Array.isArray(a));
    const length = Number(headers?.["content-length"] ?? headers?.["Content-Length"]);
    if (Number.isFinite(length)) this[DECLARED] = length;
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse["writeHead"];
  res.once("close", () => {
    inFlight.set(dialect, (inFlight.get(dialect) ?? 1) - 1);
    const s = seriesOf(dialect, (req as Observed)[OPERATION] ?? route);
    const status = res.writableFinished ? String(res.statusCode) : "aborted";
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    s.received += (req as Observed)[RECEIVED] ?? (req.complete ? Number(req.headers["content-length"] ?? 0) || 0 : 0);
    s.sent += bytesSent(req, res as Answer);
    seconds.observe(s.labels, (performance.now() - started) / 1000);
  });
}

function bytesSent(req: IncomingMessage, res: Answer): number {
  if (res[SENT] !== undefined) return res[SENT];
  if (!res.writableFinished || req.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304) return 0;
  return Number(res.getHeader("content-length") ?? res[DECLARED] ?? 0) || 0;
}

/**
 * The body a response sends as it is, or, for a stream of no declared
 * length (sent chunked), the same stream counted as it passes.
 */
export function countedBody<T>(res: ServerResponse, body: T): T | Readable {
  const stream = body as unknown as Readable | null;
  if (typeof stream?.pipe !== "function" || res.hasHeader("content-length")) return body;
  const answer = res as Answer;
  answer[SENT] = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      answer[SENT] = (answer[SENT] ?? 0) + chunk.length;
      done(null, chunk);
    },
  });
  stream.on("error", (err) => counting.destroy(err));
  return stream.pipe(counting);
}
