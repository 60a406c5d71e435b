import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "alluxio-proxy",
  Settings,
  () => parseConfig(),
  start,
  (proxy) => `koine alluxio-proxy: ${proxy.url}/api/v1`,
);
