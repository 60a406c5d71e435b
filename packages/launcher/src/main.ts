import { parseConfig } from "./config.ts";
import { startLocalCluster } from "./local_cluster.ts";

let options: ReturnType<typeof parseConfig>;
try {
  options = parseConfig();
} catch (err) {
  console.error(`koine: ${(err as Error).message}`);
  process.exit(2);
}
const cluster = await startLocalCluster(options);
const [accessKey, secretKey] = [...(options.credentials ?? new Map())][0] ?? [];
console.log(`koine is up (data in ${cluster.home})
  S3 endpoint   ${cluster.s3Url}   access key ${accessKey}   secret key ${secretKey}
  Alluxio proxy ${cluster.alluxioUrl}/api/v1   (S3 also at ${cluster.alluxioUrl}/api/v1/s3)
  NATS          ${cluster.natsUrl}
  cache nodes   ${cluster.cacheNodes.map((n) => `${n.id} ${n.url}`).join(", ")}
Ctrl-C stops everything.`);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("koine: stopping");
    void cluster.stop().then(() => process.exit(0));
  });
}
