import { runService } from "@koine/config";
import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "cache-node",
  () => parseConfig(),
  start,
  (node) => `koine cache-node ${node.id}: serving data on ${node.url}`,
);
