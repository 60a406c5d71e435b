import { tmpdir } from "node:os";
import { onCleanup, type TestContext, tempDir } from "@koine/testkit";
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from "./local_cluster.ts";

/** A whole koine cluster in this process, on free ports, removed when the test ends; tests mount their temp directories. */
export async function bootCluster(
  t: TestContext,
  options: Omit<LocalClusterOptions, "home" | "natsPort" | "cachePort" | "s3Port"> & { home?: string } = {},
): Promise<LocalCluster> {
  const home = options.home ?? (await tempDir(t, "koine-home-"));
  const cluster = await startLocalCluster({
    natsPort: 0,
    cachePort: 0,
    s3Port: 0,
    alluxioPort: 0,
    adminPort: 0,
    aisPort: 0,
    ozonePort: 0,
    ozoneOmPort: 0,
    mountRoots: [tmpdir()],
    ...options,
    home,
  });
  onCleanup(t, () => cluster.stop());
  return cluster;
}
