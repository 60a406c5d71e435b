import { runService } from "@koine/config";
import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "job-runner",
  () => parseConfig(),
  start,
  (s) => `koine job-runner: consuming jobs${s.opsUrl ? `; health and metrics on ${s.opsUrl}` : ""}`,
);
