import { runService } from "@koine/config";
import { parseConfig } from "./config.ts";
import { start } from "./service.ts";

await runService(
  "s3-gateway",
  () => parseConfig(),
  start,
  (gateway, options) => {
    const [accessKey, secretKey] = [...options.credentials][0] as [string, string];
    return `koine s3-gateway: ${gateway.url} (access key ${accessKey}, secret key ${secretKey})`;
  },
);
