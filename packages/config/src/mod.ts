/**
 * Settings shared by every koine service (NATS URL, home, ports, sizes)
 * and the start-up every service's main.ts runs.
 * @module
 */
export { runService } from "./run.ts";
export { DEFAULT_NATS_URL, homeFrom, natsUrlFrom, parseSize, portFrom, sizeFrom } from "./settings.ts";
