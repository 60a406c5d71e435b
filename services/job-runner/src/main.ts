import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "job-runner",
  Settings,
  () => parseConfig(),
  start,
  (s) => `koine job-runner: consuming jobs${s.opsUrl ? `; health and metrics on ${s.opsUrl}` : ""}`,
);
