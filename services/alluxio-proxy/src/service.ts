import type { AddressInfo } from "node:net";
import { connect } from "@koine/bus";
import { type DataNode, FileSystemClient } from "@koine/client";
import { s3ClientErrorHandler, s3Plugin, UserDirectory } from "@koine/s3-gateway";
import Fastify from "fastify";
import type { AlluxioProxyOptions } from "./config.ts";
import { alluxioPlugin } from "./plugin.ts";

export interface AlluxioProxy {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the Alluxio proxy: the paths and streams API, and the S3 dialect
 * under /api/v1/s3 (the same plugin as the S3 gateway's), on port 39999.
 */
export async function start(options: AlluxioProxyOptions & { localNodes?: ReadonlyMap<string, DataNode> }): Promise<AlluxioProxy> {
  const nc = await connect({ servers: options.natsUrl, name: "koine-alluxio-proxy" });
  const client = await FileSystemClient.open({
    nc,
    ...(options.localNodes ? { localNodes: options.localNodes } : {}),
    ...(options.blockSize ? { blockSize: options.blockSize } : {}),
  });
  const users = await UserDirectory.open(nc, options.credentials);
  const app = Fastify({
    logger: false,
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    return503OnClosing: false,
    clientErrorHandler: s3ClientErrorHandler,
  });
  await app.register(alluxioPlugin, { client });
  await app.register(s3Plugin, {
    prefix: "/api/v1/s3",
    client,
    secretOf: (ak) => users.secretOf(ak),
    virtualHostDomains: [],
    onInternalError: (err) => console.error("alluxio-proxy: s3 internal error", err),
  });
  await app.listen({ host: options.host, port: options.port });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      await app.close();
      users.close();
      await client.close();
      await nc.drain();
    },
  };
}
