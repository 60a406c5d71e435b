import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

let options: ReturnType<typeof parseConfig>;
try {
  options = parseConfig();
} catch (err) {
  console.error(`koine cache-node: ${(err as Error).message}`);
  process.exit(2);
}
const node = await start(options);
console.log(`koine cache-node ${node.id}: serving data on ${node.url}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void node.stop().then(() => process.exit(0)));
}
