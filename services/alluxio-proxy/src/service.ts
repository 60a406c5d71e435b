import { alluxioPlugin } from "@koine/alluxio";
import type { DataNode } from "@koine/client";
import { type FrontEnd, registerDialect, startFrontEnd } from "@koine/frontend";
import { s3ClientErrorHandler, s3Plugin } from "@koine/s3";
import type { AlluxioProxyOptions } from "./config.ts";

export type AlluxioProxy = FrontEnd;

/**
 * Starts the Alluxio proxy: the paths and streams API, and the S3 dialect
 * under /api/v1/s3 (the same plugin as the S3 gateway's), on port 39999.
 */
export function start(options: AlluxioProxyOptions & { localNodes?: ReadonlyMap<string, DataNode> }): Promise<AlluxioProxy> {
  // Requests too malformed to route get S3's XML error, as they did before the proxy had its own.
  return startFrontEnd(
    { ...options, role: "alluxio-proxy", clientErrorHandler: s3ClientErrorHandler },
    async (app, { client, identities }) => {
      await registerDialect(app, "alluxio", alluxioPlugin, {
        client,
        identities,
        authMode: options.authMode,
        ...(options.streams ? { streams: options.streams } : {}),
      });
      await registerDialect(app, "s3", s3Plugin, { prefix: "/api/v1/s3", client, identities, virtualHostDomains: [] });
    },
  );
}
