/**
 * Helpers every koine test uses: a real nats-server on a free port with a
 * temporary store, temporary directories removed after the test.
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NatsServer, startNatsServer } from "@koine/bus";
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from "@koine/launcher";

/** What `node:test` passes to a test: enough to register clean-up. */
export interface TestContext {
  after(fn: () => unknown): void;
}

/** A temporary directory removed when the test ends. */
export async function tempDir(t: TestContext, prefix = "koine-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A nats-server with JetStream on a free port, stopped when the test ends. */
export async function startNats(t: TestContext): Promise<NatsServer> {
  const storeDir = await tempDir(t, "koine-nats-");
  const server = await startNatsServer({ storeDir, port: 0 });
  t.after(() => server.stop());
  return server;
}

/** A whole koine cluster in this process, on free ports, removed when the test ends. */
export async function bootCluster(t: TestContext, options: Omit<LocalClusterOptions, "home" | "natsPort" | "cachePort" | "s3Port"> & { home?: string } = {}): Promise<LocalCluster> {
  const home = options.home ?? (await tempDir(t, "koine-home-"));
  const cluster = await startLocalCluster({ natsPort: 0, cachePort: 0, s3Port: 0, ...options, home });
  t.after(() => cluster.stop());
  return cluster;
}

/** Default credentials of a test cluster. */
export const TEST_CREDENTIALS = { accessKeyId: "koine", secretAccessKey: "koinesecret" } as const;
