import { type FrontEnd, type FrontEndOptions, registerDialect, startFrontEnd } from "@koine/frontend";
import { s3ClientErrorHandler, s3FrameworkErrors, s3Plugin } from "@koine/s3";
import type { S3GatewayOptions } from "./config.ts";

export type S3Gateway = FrontEnd;

/** S3 owns every path; "_koine" is no bucket name (no "_" in bucket names), so health lives there. */
const OPS_PREFIX = "/_koine";

/** Where this gateway's process stands: cache nodes beside it, or the socket of the process that made it a worker. */
export type S3GatewayPlacement = Pick<FrontEndOptions, "localNodes" | "localPages" | "inheritedSocket">;

/**
 * Starts the S3 gateway: the S3 plugin on its own port, over the shared
 * client; with `workers` > 1, as many processes serve the port
 * (`worker.ts`), each reading the page files of `localPages` itself.
 */
export function start(options: S3GatewayOptions & S3GatewayPlacement): Promise<S3Gateway> {
  const { localNodes: _inThisProcess, inheritedSocket: _socket, ...forWorkers } = options;
  return startFrontEnd(
    {
      ...options,
      role: "s3-gateway",
      opsPrefix: OPS_PREFIX,
      clientErrorHandler: s3ClientErrorHandler,
      frameworkErrors: s3FrameworkErrors,
      workers: { count: options.workers ?? 1, entry: new URL("./worker.ts", import.meta.url), options: { ...forWorkers, workers: 1 } },
    },
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
