import { runService } from "@koine/config";
import { describeCredentials } from "@koine/frontend";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "s3-gateway",
  Settings,
  () => parseConfig(),
  start,
  (gateway, options) => `koine s3-gateway: ${gateway.url} (${describeCredentials(options.credentials)})`,
);
