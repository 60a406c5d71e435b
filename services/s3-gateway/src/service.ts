import type { DataNode } from "@koine/client";
import type { S3GatewayOptions } from "./config.ts";
import { type FrontEnd, startFrontEnd } from "./front_end.ts";
import { s3Plugin } from "./plugin.ts";

export type S3Gateway = FrontEnd;

/** Starts the S3 gateway: the S3 plugin on its own port, over the shared client. */
export function start(options: S3GatewayOptions & { localNodes?: ReadonlyMap<string, DataNode> }): Promise<S3Gateway> {
  return startFrontEnd({ ...options, name: "koine-s3-gateway" }, async (app, { client, users }) => {
    await app.register(s3Plugin, {
      client,
      secretOf: (ak) => users.secretOf(ak),
      region: options.region,
      bodyIdleTimeoutMs: options.bodyIdleTimeoutMs,
      ...(options.virtualHostDomains ? { virtualHostDomains: options.virtualHostDomains } : {}),
      onInternalError: (err) => console.error("s3-gateway: internal error", err),
    });
  });
}
