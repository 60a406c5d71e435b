import { runService } from "@koine/config";
import { parseConfig } from "./config.ts";
import { startLocalCluster } from "./local_cluster.ts";

await runService(
  "",
  () => parseConfig(),
  startLocalCluster,
  (cluster, options) => {
    const [accessKey, secretKey] = [...(options.credentials ?? new Map())][0] ?? [];
    return `koine is up (data in ${cluster.home})
  S3 endpoint   ${cluster.s3Url}   access key ${accessKey}   secret key ${secretKey}
  Alluxio proxy ${cluster.alluxioUrl}/api/v1   (S3 also at ${cluster.alluxioUrl}/api/v1/s3)
  admin API     ${cluster.adminUrl}/api/v1   (load jobs, nodes, mounts)
  NATS          ${cluster.natsUrl}
  cache nodes   ${cluster.cacheNodes.map((n) => `${n.id} ${n.url}`).join(", ")}
Ctrl-C stops everything.`;
  },
);
