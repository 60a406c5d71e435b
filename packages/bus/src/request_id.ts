import { requestIdFrom, requestIdNow, withRequestId } from "@koine/log";
import { headers, type MsgHdrs } from "@nats-io/transport-node";

/** The id of the request a NATS message serves (see @koine/log). */
const REQUEST_ID_HEADER = "Koine-Request-Id";

/** Headers that carry the id of the request being served here, if there is one. */
export function requestIdHeaders(): MsgHdrs | undefined {
  const requestId = requestIdNow();
  if (requestId === undefined) return undefined;
  const h = headers();
  h.set(REQUEST_ID_HEADER, requestId);
  return h;
}

/**
 * Runs `work` as part of the request a message's headers name, if they name
 * one. Any NATS client may set the header: an id that is not a sensible one
 * is replaced, as a front-end does with x-request-id.
 */
export function withRequestIdOf<T>(h: MsgHdrs | undefined, work: () => T): T {
  const requestId = h?.get(REQUEST_ID_HEADER);
  return requestId ? withRequestId(requestIdFrom(requestId), work) : work();
}
