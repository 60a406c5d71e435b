import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "alluxio-admin",
  Settings,
  () => parseConfig(),
  start,
  (admin) => `koine alluxio-admin: ${admin.url}/api/v1`,
);
