import { runService } from "@koine/config";
import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "alluxio-proxy",
  () => parseConfig(),
  start,
  (proxy) => `koine alluxio-proxy: ${proxy.url}/api/v1`,
);
