import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

let options: ReturnType<typeof parseConfig>;
try {
  options = parseConfig();
} catch (err) {
  console.error(`koine alluxio-proxy: ${(err as Error).message}`);
  process.exit(2);
}
const proxy = await start(options);
console.log(`koine alluxio-proxy: ${proxy.url}/api/v1`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void proxy.stop().then(() => process.exit(0)));
}
