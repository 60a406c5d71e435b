import type { AddressInfo } from "node:net";
import { connect } from "@koine/bus";
import { type DataNode, FileSystemClient } from "@koine/client";
import Fastify from "fastify";
import type { S3GatewayOptions } from "./config.ts";
import { s3ClientErrorHandler, s3Plugin } from "./plugin.ts";
import { UserDirectory } from "./users.ts";

export interface S3Gateway {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts the S3 gateway: the S3 plugin on its own port, over the shared client. */
export async function start(options: S3GatewayOptions & { localNodes?: ReadonlyMap<string, DataNode> }): Promise<S3Gateway> {
  const nc = await connect({ servers: options.natsUrl, name: "koine-s3-gateway" });
  const client = await FileSystemClient.open({
    nc,
    ...(options.localNodes ? { localNodes: options.localNodes } : {}),
    ...(options.blockSize ? { blockSize: options.blockSize } : {}),
  });
  const app = Fastify({
    logger: false,
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 4096 },
    return503OnClosing: false,
    clientErrorHandler: s3ClientErrorHandler,
  });
  const users = await UserDirectory.open(nc, options.credentials);
  await app.register(s3Plugin, {
    client,
    secretOf: (ak) => users.secretOf(ak),
    region: options.region,
    bodyIdleTimeoutMs: options.bodyIdleTimeoutMs,
    ...(options.virtualHostDomains ? { virtualHostDomains: options.virtualHostDomains } : {}),
    onInternalError: (err) => console.error("s3-gateway: internal error", err),
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
