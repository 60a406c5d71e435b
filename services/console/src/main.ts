import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "console",
  Settings,
  () => parseConfig(),
  start,
  (console) => `koine console: ${console.url}/`,
);
