import { BearerTokens } from "@koine/access";
import { aisPlugin } from "@koine/ais";
import { type CacheNode, startCacheNode } from "@koine/cache";
import { type FrontEnd, registerDialect, schemeOf, startFrontEnd } from "@koine/frontend";
import type { CacheNodeServiceOptions } from "./config.ts";

export type { CacheNode } from "@koine/cache";

/**
 * Starts a cache node (`@koine/cache`): its page store behind the HTTP data
 * endpoint with /healthz, /readyz and /metrics, NATS control, and its
 * heartbeat in the cluster's membership; and its AIS target (`@koine/ais`
 * as a target, on its own port): the AIS gateway sends each object's
 * reads and writes to the node that owns it, which serves them from its
 * own pages.
 */
export async function start(options: CacheNodeServiceOptions): Promise<CacheNode> {
  const node = await startCacheNode(options);
  let target: FrontEnd;
  try {
    target = await startFrontEnd(
      { ...options, role: "ais-target", port: options.aisPort ?? 0, localNodes: new Map([[node.id, node.engine]]) },
      async (app, { client, identities }) => {
        // Counted apart from the gateway's "ais" in the metrics: what the targets move.
        await registerDialect(app, "ais-target", aisPlugin, {
          client,
          identities,
          tokens: new BearerTokens(options.clusterKey),
          clusterKey: options.clusterKey,
          target: node.id,
          ...(options.localRoots ? { localRoots: options.localRoots } : {}),
        });
      },
    );
    await node.advertise({ aisUrl: `${schemeOf(options.tls)}://${options.advertiseHost}:${target.port}` });
  } catch (err) {
    await node.stop();
    throw err;
  }
  // Stopped once, whichever way (a crash simulated by abort, then a test's clean-up stop, is one stop).
  let stopped = false;
  return {
    ...node,
    async stop() {
      if (stopped) return;
      stopped = true;
      await target.stop();
      await node.stop();
    },
    async abort() {
      if (stopped) return;
      stopped = true;
      await node.abort();
      await target.stop();
    },
  };
}
