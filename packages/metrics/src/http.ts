import type { IncomingMessage, ServerResponse } from "node:http";
import { counter, gauge, histogram } from "./registry.ts";

const LABELS = ["dialect", "operation"] as const;
const requests = counter({
  name: "koine_http_requests_total",
  help: "HTTP requests answered, by dialect, operation and status",
  labelNames: [...LABELS, "status"],
});
const seconds = histogram({
  name: "koine_http_request_duration_seconds",
  help: "Time from a request's headers to the end of its answer, by dialect and operation",
  labelNames: LABELS,
});
const received = counter({ name: "koine_http_received_bytes_total", help: "Request body bytes received", labelNames: LABELS });
const sent = counter({ name: "koine_http_sent_bytes_total", help: "Response body bytes sent", labelNames: LABELS });
const inFlight = gauge({ name: "koine_http_requests_in_flight", help: "HTTP requests being served", labelNames: ["dialect"] });

const OPERATION = Symbol("koine.operation");
type Named = IncomingMessage & { [OPERATION]?: string };

/** Names the operation a request is (S3's "GetObject", ...), for its metrics; else it goes by method and route. */
export function nameOperation(req: IncomingMessage, operation: string): void {
  (req as Named)[OPERATION] = operation;
}

function byteLength(chunk: unknown): number {
  if (typeof chunk === "string") return Buffer.byteLength(chunk);
  return (chunk as { length?: number } | null)?.length ?? 0;
}

/**
 * Counts one request from its headers on: body bytes as they arrive and
 * leave, its time, and its status once the response closes (finished or
 * cut off). Call as soon as the request is routed, before its body is read;
 * `route` names the operation when the dialect did not.
 */
export function observeHttp(req: IncomingMessage, res: ServerResponse, dialect: string, route: () => string): void {
  const started = performance.now();
  let bytesIn = 0;
  let bytesOut = 0;
  inFlight.inc({ dialect });
  // The HTTP parser pushes each body chunk into the request; the response is written with write() and end().
  const push = req.push;
  req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
    bytesIn += byteLength(chunk);
    return push.call(this, chunk, encoding);
  };
  const write = res.write as (...args: unknown[]) => boolean;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    bytesOut += byteLength(chunk);
    return write.call(this, chunk, ...rest);
  } as ServerResponse["write"];
  const end = res.end as (...args: unknown[]) => ServerResponse;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== "function") bytesOut += byteLength(chunk);
    return end.call(this, chunk, ...rest);
  } as ServerResponse["end"];
  res.once("close", () => {
    const labels = { dialect, operation: (req as Named)[OPERATION] ?? route() };
    inFlight.dec({ dialect });
    requests.inc({ ...labels, status: res.writableFinished ? String(res.statusCode) : "aborted" });
    seconds.observe(labels, (performance.now() - started) / 1000);
    if (bytesIn > 0) received.inc(labels, bytesIn);
    if (bytesOut > 0) sent.inc(labels, bytesOut);
  });
}
