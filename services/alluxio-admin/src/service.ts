import { openKv } from "@koine/bus";
import { JobStore } from "@koine/client";
import { type FrontEnd, registerDialect, startFrontEnd } from "@koine/frontend";
import { FILE_INDEX_BUCKET } from "@koine/protocol";
import type { AlluxioAdminOptions } from "./config.ts";
import { adminClientErrorHandler, adminPlugin } from "./plugin.ts";

export type AlluxioAdmin = FrontEnd;

/** Starts the admin API on port 19999 over the shared file-system client, the job records and the file index. */
export function start(options: AlluxioAdminOptions): Promise<AlluxioAdmin> {
  return startFrontEnd(
    { ...options, name: "koine-alluxio-admin", clientErrorHandler: adminClientErrorHandler },
    async (app, { client }) => {
      await registerDialect(app, "alluxio-admin", adminPlugin, {
        client,
        jobs: await JobStore.open(client.nc),
        policies: client.policies,
        disabled: options.disabled ?? [],
        fileIndex: await openKv(client.nc, FILE_INDEX_BUCKET, { history: 1 }),
      });
    },
  );
}
