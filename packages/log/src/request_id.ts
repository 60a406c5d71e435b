import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

const current = new AsyncLocalStorage<string>();
/** What a client may send as its own request id: short, printable, no spaces. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/** Runs `work` as part of request `id`: log lines and NATS requests made within carry it. */
export function withRequestId<T>(id: string, work: () => T): T {
  return current.run(id, work);
}

/** The id of the request being served here, if any. */
export function requestIdNow(): string | undefined {
  return current.getStore();
}

const PREFIX = randomBytes(4).toString("hex").toUpperCase();
let counter = 0;

/** The id a request goes by: the client's own (x-request-id) when it is a sensible one, else a new one (unique per process, cheap). */
export function requestIdFrom(given: unknown): string {
  if (typeof given === "string" && ACCEPTED.test(given)) return given;
  counter = (counter + 1) % 0x100000000;
  return PREFIX + counter.toString(16).toUpperCase().padStart(8, "0");
}
