import { announceService } from "@koine/bus";
import { startOpsHost } from "@koine/frontend";
import { serviceLogger } from "@koine/log";
import { type ServedNamespace, serveNamespace } from "@koine/namespace";
import type { MetadataOptions } from "./config.ts";

export interface MetadataService {
  /** Where /healthz, /readyz and /metrics are, when served. */
  opsUrl?: string;
  stop(): Promise<void>;
}

/** Starts the metadata service: each shard of the namespace (`@koine/namespace`) over NATS, and its health and metrics port. */
export async function start(options: MetadataOptions): Promise<MetadataService> {
  const shards: ServedNamespace[] = [];
  const count = options.shards ?? 1;
  for (let index = 0; index < count; index++) {
    shards.push(await serveNamespace({ ...options, shard: { index, count }, natsCa: options.tls?.ca }));
  }
  const connected = async () => {
    const nats = shards.every((shard) => !shard.nc.isClosed());
    return { ready: nats, nats };
  };
  const ops = options.ops && (await startOpsHost(serviceLogger("metadata"), options.ops, connected, options.tls));
  const [first] = shards as [ServedNamespace];
  const announced = announceService(first.nc, { role: "metadata", id: first.replica, ...(ops ? { opsUrl: ops.url } : {}) });
  return {
    ...(ops ? { opsUrl: ops.url } : {}),
    async stop() {
      await announced.stop();
      await ops?.close();
      await Promise.all(shards.map((shard) => shard.stop()));
    },
  };
}
