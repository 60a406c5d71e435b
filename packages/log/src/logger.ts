import { type Logger, pino } from "pino";
import { requestIdNow } from "./request_id.ts";

export type { Logger } from "pino";

const loggers = new Map<string, Logger>();

/**
 * The logger of service `service`: one JSON line per event on stdout, at
 * KOINE_LOG_LEVEL (default info), each line with the service's name and the
 * id of the request it belongs to (`reqId`), wherever in the call chain it
 * is written. One per service and process, whoever asks for it.
 */
export function serviceLogger(service: string): Logger {
  let logger = loggers.get(service);
  if (!logger) {
    logger = newLogger(service);
    loggers.set(service, logger);
  }
  return logger;
}

function newLogger(service: string): Logger {
  return pino({
    level: process.env.KOINE_LOG_LEVEL ?? "info",
    base: { service },
    mixin: () => {
      const reqId = requestIdNow();
      return reqId === undefined ? {} : { reqId };
    },
    // A person at a terminal reads lines; anything else (a file, a collector, a test) gets JSON.
    ...(process.stdout.isTTY
      ? {
          transport: {
            target: "pino-pretty",
            options: {
              ignore: "pid,hostname,service",
              messageFormat: "{service}: {msg}",
              translateTime: "SYS:HH:MM:ss.l",
              singleLine: true,
            },
          },
        }
      : {}),
  });
}
