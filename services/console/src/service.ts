import { adminClientErrorHandler, adminPlugin } from "@koine/alluxio-admin-api";
import { Cluster } from "@koine/client";
import { consolePlugin } from "@koine/console-app";
import { type FrontEnd, registerDialect, startFrontEnd } from "@koine/frontend";
import { s3Plugin } from "@koine/s3";
import type { ConsoleOptions } from "./config.ts";

export type ConsoleService = FrontEnd;

/**
 * Starts the web console on port 19990: the app (`@koine/console`), and on
 * the same origin the APIs it reads, each checking who asks as it does on
 * its own port: the admin API (`/api/v1/...`) and S3 (under `/s3`).
 */
export function start(options: ConsoleOptions): Promise<ConsoleService> {
  return startFrontEnd(
    { ...options, role: "console", clientErrorHandler: adminClientErrorHandler },
    async (app, { client, identities }) => {
      await app.register(consolePlugin);
      await registerDialect(app, "alluxio-admin", adminPlugin, {
        cluster: await Cluster.open(client),
        identities,
        policies: client.policies,
        disabled: [],
      });
      await registerDialect(app, "s3", s3Plugin, { prefix: "/s3", client, identities, virtualHostDomains: [] });
    },
  );
}
