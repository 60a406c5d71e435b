import { runService } from "@koine/config";
import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "alluxio-admin",
  () => parseConfig(),
  start,
  (admin) => `koine alluxio-admin: ${admin.url}/api/v1`,
);
