import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "ozone-gateway",
  Settings,
  () => parseConfig(),
  start,
  (gateway) => `koine ozone-gateway: ${gateway.url} (serviceList at ${gateway.omUrl}/serviceList)`,
);
