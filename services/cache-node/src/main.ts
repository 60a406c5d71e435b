import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

const node = await start(parseConfig());
console.log(`koine cache-node ${node.id}: serving data on ${node.url}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void node.stop().then(() => process.exit(0)));
}
