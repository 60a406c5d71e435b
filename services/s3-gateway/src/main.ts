import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "s3-gateway",
  Settings,
  () => parseConfig(),
  start,
  (gateway) => `koine s3-gateway: ${gateway.url}`,
);
