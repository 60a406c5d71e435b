import { runService } from "@koine/config";
import { parseConfig, Settings } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "cache-node",
  Settings,
  () => parseConfig(),
  start,
  (node) => `koine cache-node ${node.id}: serving data on ${node.url}`,
);
