import { type Logger, pino } from "pino";
import { requestIdNow } from "./request_id.ts";

export type { Logger } from "pino";

/**
 * The logger of service `service`: one JSON line per event on stdout, at
 * KOINE_LOG_LEVEL (default info), each line with the service's name and the
 * id of the request it belongs to (`reqId`), wherever in the call chain it
 * is written.
 */
export function serviceLogger(service: string): Logger {
  return pino({
    level: process.env.KOINE_LOG_LEVEL ?? "info",
    base: { service },
    mixin: () => {
      const reqId = requestIdNow();
      return reqId === undefined ? {} : { reqId };
    },
  });
}
