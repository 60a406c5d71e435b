import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

let options: ReturnType<typeof parseConfig>;
try {
  options = parseConfig();
} catch (err) {
  console.error(`koine s3-gateway: ${(err as Error).message}`);
  process.exit(2);
}
const gateway = await start(options);
const [accessKey, secretKey] = [...options.credentials][0] as [string, string];
console.log(`koine s3-gateway: ${gateway.url} (access key ${accessKey}, secret key ${secretKey})`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void gateway.stop().then(() => process.exit(0)));
}
