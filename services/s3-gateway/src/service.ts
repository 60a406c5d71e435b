import type { DataNode } from "@koine/client";
import { type FrontEnd, registerDialect, startFrontEnd } from "@koine/frontend";
import { s3ClientErrorHandler, s3Plugin } from "@koine/s3";
import type { S3GatewayOptions } from "./config.ts";

export type S3Gateway = FrontEnd;

/** S3 owns every path; "_koine" is no bucket name (no "_" in bucket names), so health lives there. */
const OPS_PREFIX = "/_koine";

/** Starts the S3 gateway: the S3 plugin on its own port, over the shared client. */
export function start(options: S3GatewayOptions & { localNodes?: ReadonlyMap<string, DataNode> }): Promise<S3Gateway> {
  return startFrontEnd(
    { ...options, role: "s3-gateway", opsPrefix: OPS_PREFIX, clientErrorHandler: s3ClientErrorHandler },
    async (app, { client, identities }) => {
      await registerDialect(app, "s3", s3Plugin, {
        client,
        identities,
        region: options.region,
        bodyIdleTimeoutMs: options.bodyIdleTimeoutMs,
        ...(options.virtualHostDomains ? { virtualHostDomains: options.virtualHostDomains } : {}),
      });
    },
  );
}
