import { runService } from "@koine/config";
import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "metadata",
  () => parseConfig(),
  start,
  (s) => `koine metadata: serving${s.opsUrl ? `; health and metrics on ${s.opsUrl}` : ""}`,
);
