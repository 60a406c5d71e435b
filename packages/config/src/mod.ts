/**
 * Settings shared by every koine service (NATS URL, home, ports, sizes, durations)
 * and the start-up every service's main.ts runs.
 * @module
 */
export { runService } from "./run.ts";
export {
  countFrom,
  DEFAULT_NATS_URL,
  durationFrom,
  homeFrom,
  natsUrlFrom,
  parseDuration,
  parseSize,
  portFrom,
  sizeFrom,
} from "./settings.ts";
