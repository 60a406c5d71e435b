import { runService } from "@koine/config";
import { describeCredentials } from "@koine/namespace";
import { parseConfig, Settings } from "./config.ts";
import { startLocalCluster } from "./local_cluster.ts";

await runService(
  "",
  Settings,
  () => parseConfig(),
  startLocalCluster,
  (cluster, options) => {
    return `koine is up (data in ${cluster.home})
  S3 endpoint   ${cluster.s3Url}   ${describeCredentials(options.users ?? [])}
  Alluxio proxy ${cluster.alluxioUrl}/api/v1   (S3 also at ${cluster.alluxioUrl}/api/v1/s3)
  admin API     ${cluster.adminUrl}/api/v1   (load jobs, nodes, mounts)
  web console   ${cluster.consoleUrl}/   (sign in with an admin's access key and secret)
  AIS gateway   ${cluster.aisUrl}/v1   (the AIStore API)
  Ozone REST    ${cluster.ozoneUrl}   (the Ozone v1 REST API; /serviceList at ${cluster.ozoneOmUrl})
  NATS          ${cluster.natsUrl}
  cache nodes   ${cluster.cacheNodes.map((n) => `${n.id} ${n.url}`).join(", ")}
Ctrl-C stops everything.`;
  },
);
