import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "ais-gateway",
  Settings,
  () => parseConfig(),
  start,
  (gateway) => `koine ais-gateway: ${gateway.url}`,
);
