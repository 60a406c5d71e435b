/**
 * Runs a whole koine cluster in one process: a nats-server child, metadata,
 * cache nodes, the job runner and every front-end. For a laptop and tests.
 * @module
 */
export { startLocalCluster } from "./local_cluster.ts";
export type { LocalCluster, LocalClusterOptions } from "./local_cluster.ts";
export { parseConfig } from "./config.ts";
