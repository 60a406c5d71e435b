import type { Socket } from "node:net";
import { ErrorCode, HTTP_STATUS, KoineError } from "@koine/protocol";
import type { FastifyError, FastifyReply } from "fastify";

/** An admin API error: its HTTP status and `{"status": message, ...extra}`. */
export class AdminError extends Error {
  readonly httpStatus: number;
  readonly extra: Record<string, unknown>;

  constructor(httpStatus: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.httpStatus = httpStatus;
    this.extra = extra;
  }
}

/** The admin API's status for each koine error: the cluster-wide table (a new code fails tsc there). */
export const ADMIN_STATUS: Readonly<Record<ErrorCode, number>> = HTTP_STATUS;

/** Exactly `application/json` (fastify would add a charset to a string body). */
export function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply
    .code(status)
    .header("content-type", "application/json")
    .send(Buffer.from(JSON.stringify(value)));
}

/** What the admin API answers for an error: its own, a koine error's, fastify's (a body too large) or a 500. */
export function toAdminError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  if (err instanceof KoineError) return new AdminError(ADMIN_STATUS[err.code], err.message);
  const fastify = err as Partial<FastifyError>;
  if (fastify.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new AdminError(400, "The request body is too large");
  if (typeof fastify.statusCode === "number" && fastify.statusCode < 500)
    return new AdminError(fastify.statusCode, fastify.message ?? "Bad request");
  return new AdminError(ADMIN_STATUS[ErrorCode.Internal], err instanceof Error ? err.message : String(err));
}

/** A request too malformed to route gets the admin API's JSON error. */
export function adminClientErrorHandler(err: Error, socket: Socket): void {
  if (!socket.writable) return;
  const body = JSON.stringify({ status: `Bad request: ${err.message}` });
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
