import { startOpsHost } from "@koine/frontend";
import { serviceLogger } from "@koine/log";
import { serveNamespace } from "@koine/namespace";
import type { MetadataOptions } from "./config.ts";

export interface MetadataService {
  /** Where /healthz, /readyz and /metrics are, when served. */
  opsUrl?: string;
  stop(): Promise<void>;
}

/** Starts the metadata service: the namespace (`@koine/namespace`) over NATS, and its health and metrics port. */
export async function start(options: MetadataOptions): Promise<MetadataService> {
  const namespace = await serveNamespace({ ...options, natsCa: options.tls?.ca });
  const connected = async () => ({ ready: !namespace.nc.isClosed(), nats: !namespace.nc.isClosed() });
  const ops = options.ops && (await startOpsHost(serviceLogger("metadata"), options.ops, connected, options.tls));
  return {
    ...(ops ? { opsUrl: ops.url } : {}),
    async stop() {
      await ops?.close();
      await namespace.stop();
    },
  };
}
