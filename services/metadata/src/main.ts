import { runService } from "@koine/config";
import { describeCredentials } from "@koine/namespace";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "metadata",
  Settings,
  () => parseConfig(),
  start,
  (s, options) =>
    `koine metadata: serving (${describeCredentials(options.users ?? [])})${s.opsUrl ? `; health and metrics on ${s.opsUrl}` : ""}`,
);
