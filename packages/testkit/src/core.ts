import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connect } from "@koine/bus";
import { startCacheNode } from "@koine/cache";
import { FileSystemClient } from "@koine/client";
import { UserDirectory } from "@koine/frontend";
import { serveNamespace } from "@koine/namespace";
import { TEST_CREDENTIALS } from "./clients.ts";
import { onCleanup, startNats, type TestContext, tempDir } from "./mod.ts";
import { waitFor } from "./wait.ts";

/** What a dialect's own tests run against: a real nats-server, the namespace, one cache node, and a client of them. */
export interface Core {
  client: FileSystemClient;
  /** The users: TEST_CREDENTIALS, an admin. */
  identities: UserDirectory;
  natsUrl: string;
  /** The directory of the under-store mounted at "/". */
  ufs: string;
}

/**
 * The core of a cluster for a test, built from the packages (no service):
 * nats-server on a free port, the namespace over NATS, one cache node
 * (HTTP on a free port) and a file-system client that sees it; all of it
 * stopped when the test ends.
 */
export async function startCore(t: TestContext): Promise<Core> {
  const nats = await startNats(t);
  const home = await tempDir(t, "koine-core-");
  const ufs = join(home, "ufs");
  const clusterKey = randomBytes(32);
  const namespace = await serveNamespace({
    natsUrl: nats.url,
    dataDir: join(home, "metadata"),
    rootUfs: pathToFileURL(ufs).href,
    clusterKey,
    // Tests mount their temp directories.
    mountRoots: [tmpdir()],
    users: [{ accessKey: TEST_CREDENTIALS.accessKeyId, secretKey: TEST_CREDENTIALS.secretAccessKey, groups: [], admin: true }],
  });
  onCleanup(t, () => namespace.stop());
  const node = await startCacheNode({
    natsUrl: nats.url,
    clusterKey,
    nodeId: "node0",
    dataDir: join(home, "cache"),
    host: "127.0.0.1",
    port: 0,
    advertiseHost: "127.0.0.1",
    capacityBytes: 1024 ** 3,
    memoryBytes: 64 * 1024 ** 2,
    pageSize: 1024 ** 2,
  });
  onCleanup(t, () => node.stop());
  const nc = await connect({ servers: nats.url, name: "koine-test-core" });
  const client = await FileSystemClient.open({ nc, clusterKey });
  const identities = await UserDirectory.open(nc, clusterKey);
  onCleanup(t, async () => {
    identities.close();
    await client.close();
    await nc.drain();
  });
  await waitFor("the cache node to be a member", () => client.membership.members().length > 0);
  return { client, identities, natsUrl: nats.url, ufs };
}
