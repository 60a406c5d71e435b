import { adminClientErrorHandler, adminPlugin } from "@koine/alluxio-admin-api";
import { Cluster } from "@koine/client";
import { type FrontEnd, registerDialect, startFrontEnd } from "@koine/frontend";
import type { AlluxioAdminOptions } from "./config.ts";

export type AlluxioAdmin = FrontEnd;

/** Starts the admin API on port 19999 over the client's cluster operations (jobs, nodes, file index) and policies. */
export function start(options: AlluxioAdminOptions): Promise<AlluxioAdmin> {
  return startFrontEnd(
    { ...options, role: "alluxio-admin", clientErrorHandler: adminClientErrorHandler },
    async (app, { client, identities }) => {
      await registerDialect(app, "alluxio-admin", adminPlugin, {
        cluster: await Cluster.open(client),
        identities,
        policies: client.policies,
        disabled: options.disabled ?? [],
      });
    },
  );
}
