import type { AddressInfo } from "node:net";
import type { DataNode } from "@koine/client";
import { type FrontEnd, httpHost, registerDialect, schemeOf, startFrontEnd } from "@koine/frontend";
import { serviceLogger } from "@koine/log";
import { ozoneClientErrorHandler, ozonePlugin } from "@koine/ozone";
import type { OzoneGatewayOptions } from "./config.ts";

export interface OzoneGateway extends FrontEnd {
  /** The Ozone-manager-style port's URL, where `/serviceList` is. */
  omUrl: string;
}

/**
 * Starts the Ozone gateway: the Ozone v1 REST API (`@koine/ozone`) on port
 * 9880, and on 9874 the `/serviceList` an Ozone manager answers, naming
 * this gateway as the DATANODE REST endpoint (how the Java RestClient and
 * `ozone sh http://…` find it).
 */
export async function start(options: OzoneGatewayOptions & { localNodes?: ReadonlyMap<string, DataNode> }): Promise<OzoneGateway> {
  const gateway = await startFrontEnd(
    { ...options, role: "ozone-gateway", opsPrefix: "/_koine", clientErrorHandler: ozoneClientErrorHandler },
    async (app, { client, identities }) => {
      await registerDialect(app, "ozone", ozonePlugin, {
        client,
        identities,
        auth: options.auth,
        admins: options.admins,
        groups: options.groups,
      });
    },
  );
  const om = httpHost(serviceLogger("ozone-gateway"), { tls: options.tls, dialect: "ozone" });
  om.get("/serviceList", async (req) => {
    // The host the client reached the manager at reaches the gateway too (they are one process).
    return [{ nodeType: "DATANODE", hostname: req.hostname, ports: { HTTP: gateway.port } }];
  });
  try {
    await om.listen({ host: options.host, port: options.omPort });
  } catch (err) {
    await om.close().catch(() => {});
    await gateway.stop();
    throw err;
  }
  const omPort = (om.server.address() as AddressInfo).port;
  return {
    ...gateway,
    omUrl: `${schemeOf(options.tls)}://127.0.0.1:${omPort}`,
    async stop() {
      await om.close();
      await gateway.stop();
    },
  };
}
