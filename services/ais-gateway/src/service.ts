import { BearerTokens } from "@koine/access";
import { aisPlugin } from "@koine/ais";
import type { DataNode } from "@koine/client";
import { type FrontEnd, registerDialect, startFrontEnd } from "@koine/frontend";
import { s3Plugin } from "@koine/s3";
import type { AisGatewayOptions } from "./config.ts";

export type AisGateway = FrontEnd;

/** Starts the AIS gateway: the AIStore dialect (`@koine/ais`) on port 8080, over the shared client. */
export function start(options: AisGatewayOptions & { localNodes?: ReadonlyMap<string, DataNode> }): Promise<AisGateway> {
  return startFrontEnd({ ...options, role: "ais-gateway" }, async (app, { client, identities }) => {
    await registerDialect(app, "ais", aisPlugin, {
      client,
      identities,
      tokens: new BearerTokens(options.clusterKey),
      clusterKey: options.clusterKey,
    });
    // S3 as AIS serves it, on the gateway's port.
    await registerDialect(app, "s3", s3Plugin, { prefix: "/s3", client, identities, virtualHostDomains: [] });
  });
}
