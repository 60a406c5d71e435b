import { ErrorCode, HTTP_STATUS, KoineError } from "@koine/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";

/** An AIS error: an HTTP status and AIS's message text (the SDK picks its exception class by that text). */
export class AisError extends Error {
  override name = "AisError";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** What a request was about, to word "does not exist" as AIS does: the bucket as `ais://b` (or `aws://b`), and the object. */
export interface AisTarget {
  bucket?: string;
  object?: string;
}

/** The AIS error for anything thrown: the one place koine codes become AIS statuses and texts. */
export function toAisError(err: unknown, target: AisTarget): AisError {
  if (err instanceof AisError) return err;
  if (err instanceof KoineError) {
    const status = HTTP_STATUS[err.code];
    if (err.code === ErrorCode.NotFound && target.bucket !== undefined) {
      return new AisError(
        404,
        target.object === undefined ? `bucket "${target.bucket}" does not exist` : `${target.bucket}/${target.object} does not exist`,
      );
    }
    if (err.code === ErrorCode.AlreadyExists && target.bucket !== undefined && target.object === undefined) {
      return new AisError(409, `bucket "${target.bucket}" already exists`);
    }
    return new AisError(status, err.message);
  }
  return new AisError(500, err instanceof Error ? err.message : String(err));
}

/**
 * Sends an error as AIS does: its JSON ({message, method, url_path,
 * remote_addr, caller, node, status}); for a HEAD, an empty body and the
 * same JSON in the Hdr-Error header.
 */
export function sendAisError(req: FastifyRequest, reply: FastifyReply, err: AisError, node: string): FastifyReply {
  const body = JSON.stringify({
    message: err.message,
    method: req.method,
    url_path: (req.raw.url ?? "").split("?")[0],
    remote_addr: `${req.ip}:${req.socket.remotePort ?? 0}`,
    caller: "",
    node,
    status: err.status,
  });
  reply.code(err.status).header("x-content-type-options", "nosniff");
  if (req.method === "HEAD") return reply.header("hdr-error", body).send();
  return reply.header("content-type", "application/json").send(body);
}
