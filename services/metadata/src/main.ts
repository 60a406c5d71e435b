import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "metadata",
  Settings,
  () => parseConfig(),
  start,
  (s) => `koine metadata: serving${s.opsUrl ? `; health and metrics on ${s.opsUrl}` : ""}`,
);
