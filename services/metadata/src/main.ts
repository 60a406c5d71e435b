import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

let options: ReturnType<typeof parseConfig>;
try {
  options = parseConfig();
} catch (err) {
  console.error(`koine metadata: ${(err as Error).message}`);
  process.exit(2);
}
const service = await start(options);
console.log("koine metadata: serving");
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void service.stop().then(() => process.exit(0)));
}
