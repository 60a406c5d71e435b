/**
 * Runs a whole koine cluster in one process: a nats-server child, metadata,
 * cache nodes, the job runner and every front-end. For a laptop and tests.
 * And simulated hosts (network namespaces) to lay koine out over several,
 * and `bootCluster`, a cluster on free ports that a test removes at its end.
 * @module
 */

export { parseConfig, Settings } from "./config.ts";
export { bootCluster, bootRestartable, type Restartable } from "./harness.ts";
export type { HostProcess, SimHost, SimNetwork } from "./hosts.ts";
export {
  addHost,
  canSimulateHosts,
  createNetwork,
  hostOf,
  inHost,
  jetStreamLeaders,
  jetStreamUnsettled,
  linkIsUp,
  natsOnHostArgs,
  removeNetwork,
  serviceCommand,
  setLink,
  startNatsOn,
  startOn,
  startService,
  untilJetStreamSettled,
} from "./hosts.ts";
export type { LocalCluster, LocalClusterOptions } from "./local_cluster.ts";
export { startLocalCluster } from "./local_cluster.ts";
export { launchAllInOne, ServiceProcess } from "./process.ts";
