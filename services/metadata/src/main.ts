import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

const service = await start(parseConfig());
console.log("koine metadata: serving");
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void service.stop().then(() => process.exit(0)));
}
