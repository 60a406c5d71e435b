import { histogram } from "@koine/metrics";
import {
  describeInvalid,
  ErrorCode,
  type EventType,
  errorCodeOf,
  isErrorCode,
  KoineError,
  type ReplyOf,
  type RequestOf,
  type Rpc,
} from "@koine/protocol";
import { errors, headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { requestIdHeaders, withRequestIdOf } from "./request_id.ts";

const ERROR_CODE_HEADER = "Koine-Error-Code";
const ERROR_MESSAGE_HEADER = "Nats-Service-Error";

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

const requestSeconds = histogram({
  name: "koine_nats_request_duration_seconds",
  help: "NATS requests this process made, from sending to the reply, by subject and outcome (OK or the error code)",
  labelNames: ["subject", "code"],
});
const servedSeconds = histogram({
  name: "koine_nats_served_duration_seconds",
  help: "NATS requests this process answered (metadata: by operation), by subject and outcome (OK or the error code)",
  labelNames: ["subject", "code"],
});

export interface ServeOptions {
  /** Queue group: instances of one service share the load. */
  queue?: string;
  /** Called with errors that are not KoineErrors (bugs, I/O). */
  onInternalError?: (err: unknown, subject: string) => void;
}

/**
 * Answers `endpoint` with `handler`. Requests are validated before the
 * handler sees them; a thrown KoineError travels back with its code.
 */
export function serve<R extends Rpc>(
  nc: NatsConnection,
  endpoint: R,
  handler: (request: RequestOf<R>, msg: Msg) => Promise<ReplyOf<R>> | ReplyOf<R>,
  options: ServeOptions = {},
): Subscription {
  return nc.subscribe(endpoint.subject, {
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    callback: (err, msg) => {
      if (err) return;
      void withRequestIdOf(msg.headers, () => answer(endpoint, handler, msg, options));
    },
  });
}

async function answer<R extends Rpc>(
  endpoint: R,
  handler: (request: RequestOf<R>, msg: Msg) => Promise<ReplyOf<R>> | ReplyOf<R>,
  msg: Msg,
  options: ServeOptions,
): Promise<void> {
  const started = performance.now();
  let code = "OK";
  try {
    let body: unknown;
    try {
      body = msg.data.length === 0 ? {} : msg.json();
    } catch (cause) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot parse ${endpoint.subject} request`, { cause });
    }
    if (!endpoint.request.Check(body)) {
      throw new KoineError(ErrorCode.InvalidArgument, `Invalid ${endpoint.subject} request: ${describeInvalid(endpoint.request, body)}`);
    }
    const reply = await handler(body as RequestOf<R>, msg);
    msg.respond(JSON.stringify(reply));
  } catch (err) {
    code = errorCodeOf(err);
    if (code === ErrorCode.Internal) options.onInternalError?.(err, endpoint.subject);
    const h = headers();
    h.set(ERROR_CODE_HEADER, code);
    h.set(ERROR_MESSAGE_HEADER, err instanceof Error ? err.message : String(err));
    msg.respond("", { headers: h });
  } finally {
    servedSeconds.observe({ subject: endpoint.subject, code }, (performance.now() - started) / 1000);
  }
}

export interface RequestOptions {
  timeoutMs?: number;
}

/**
 * Sends a request and returns the validated reply. Failures come back as
 * KoineError: the responder's code, UNAVAILABLE with no responder, TIMEOUT.
 */
export async function request<R extends Rpc>(
  nc: NatsConnection,
  endpoint: R,
  payload: RequestOf<R>,
  options: RequestOptions = {},
): Promise<ReplyOf<R>> {
  const started = performance.now();
  let code = "OK";
  try {
    return await requestOnce(nc, endpoint, payload, options);
  } catch (err) {
    code = errorCodeOf(err);
    throw err;
  } finally {
    requestSeconds.observe({ subject: endpoint.subject, code }, (performance.now() - started) / 1000);
  }
}

async function requestOnce<R extends Rpc>(
  nc: NatsConnection,
  endpoint: R,
  payload: RequestOf<R>,
  options: RequestOptions,
): Promise<ReplyOf<R>> {
  let msg: Msg;
  const carried = requestIdHeaders();
  try {
    msg = await nc.request(endpoint.subject, JSON.stringify(payload), {
      timeout: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ...(carried ? { headers: carried } : {}),
    });
  } catch (err) {
    if (err instanceof errors.TimeoutError) {
      throw new KoineError(ErrorCode.Timeout, `No reply to ${endpoint.subject} in time`, { cause: err });
    }
    const cause = (err as { cause?: unknown }).cause;
    if (err instanceof errors.PermissionViolationError || cause instanceof errors.PermissionViolationError) {
      throw new KoineError(ErrorCode.PermissionDenied, `This service's NATS user may not call ${endpoint.subject}`, { cause: err });
    }
    if (err instanceof errors.RequestError || err instanceof errors.NoRespondersError) {
      throw new KoineError(ErrorCode.Unavailable, `No service answers ${endpoint.subject}`, { cause: err });
    }
    throw new KoineError(ErrorCode.Unavailable, `Cannot reach ${endpoint.subject}`, { cause: err });
  }
  const code = msg.headers?.get(ERROR_CODE_HEADER);
  if (code) {
    const message = msg.headers?.get(ERROR_MESSAGE_HEADER) ?? code;
    throw new KoineError(isErrorCode(code) ? code : ErrorCode.Internal, message);
  }
  const body: unknown = msg.json();
  if (!endpoint.reply.Check(body)) {
    throw new KoineError(ErrorCode.Internal, `Invalid ${endpoint.subject} reply: ${describeInvalid(endpoint.reply, body)}`);
  }
  return body as ReplyOf<R>;
}

/** Publishes a validated event. */
export function publish<E extends EventType>(
  nc: NatsConnection,
  type: E,
  payload: E extends EventType<infer S> ? import("@sinclair/typebox").Static<S> : never,
): void {
  nc.publish(type.subject, JSON.stringify(payload));
}

/** Subscribes to an event type; malformed events are dropped. */
export function subscribe<E extends EventType>(
  nc: NatsConnection,
  type: E,
  handler: (payload: E extends EventType<infer S> ? import("@sinclair/typebox").Static<S> : never) => void,
): Subscription {
  return nc.subscribe(type.subject, {
    callback: (err, msg) => {
      if (err) return;
      let body: unknown;
      try {
        body = msg.json();
      } catch {
        return;
      }
      if (type.payload.Check(body)) handler(body as never);
    },
  });
}

/** Serves several endpoints with shared options; they pause, resume and stop together. */
export class Responder {
  readonly #nc: NatsConnection;
  readonly #options: ServeOptions;
  readonly #served: ((nc: NatsConnection) => Subscription)[] = [];
  #subs: Subscription[] = [];
  #paused = false;

  constructor(nc: NatsConnection, options: ServeOptions = {}) {
    this.#nc = nc;
    this.#options = options;
  }

  on<R extends Rpc>(endpoint: R, handler: (request: RequestOf<R>, msg: Msg) => Promise<ReplyOf<R>> | ReplyOf<R>): this {
    const subscribe = (nc: NatsConnection) => serve(nc, endpoint, handler, this.#options);
    this.#served.push(subscribe);
    if (!this.#paused) this.#subs.push(subscribe(this.#nc));
    return this;
  }

  /** Stops hearing requests for now (others who serve the subjects answer them); requests being answered are. */
  pause(): void {
    this.#paused = true;
    this.close();
  }

  /** Hears requests again after {@link pause}. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#subs = this.#served.map((subscribe) => subscribe(this.#nc));
  }

  close(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
  }
}
