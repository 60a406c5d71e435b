import type { ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NatsServer, startNatsServer } from "@koine/bus";
import { allInOnePorts, onCleanup, type TestContext, tempDir } from "@koine/testkit";
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from "./local_cluster.ts";
import { launchAllInOne } from "./process.ts";

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
    consolePort: 0,
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

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** An all-in-one koine process and its nats-server on one home directory, which a test may SIGKILL and start again. */
export interface Restartable {
  home: string;
  ports: Awaited<ReturnType<typeof allInOnePorts>>;
  s3Url: string;
  /** SIGKILL of koine and its nats-server, then both started again on the same directory and ports. */
  killAndRestart(): Promise<void>;
}

/** Starts a {@link Restartable} koine on free ports (AIS and Ozone included), stopped when the test ends. */
export async function bootRestartable(t: TestContext, prefix = "koine-restart-"): Promise<Restartable> {
  const home = await tempDir(t, prefix);
  const ports = await allInOnePorts();
  const natsPort = Number(ports.KOINE_NATS_PORT);
  const storeDir = join(home, "nats");
  const env = { KOINE_HOME: home, ...ports, KOINE_NATS_URL: `nats://127.0.0.1:${natsPort}` };
  let nats: NatsServer = await startNatsServer({ storeDir, port: natsPort });
  let koine = await launchAllInOne(env);
  onCleanup(t, async () => {
    await kill9(koine);
    await nats.stop();
  });
  return {
    home,
    ports,
    s3Url: `http://127.0.0.1:${ports.KOINE_S3_PORT}`,
    async killAndRestart() {
      await kill9(koine);
      await kill9(nats.process);
      nats = await startNatsServer({ storeDir, port: natsPort });
      koine = await launchAllInOne(env);
    },
  };
}
