import type { AddressInfo } from "node:net";
import type { Tls } from "@koine/config";
import type { Logger } from "@koine/log";
import { opsRoutes, type Readiness } from "./health.ts";
import { httpHost, schemeOf } from "./host.ts";

export interface OpsHost {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The HTTP port of a service that serves no dialect (metadata, the job
 * runner): `/healthz`, `/readyz` (as `ready` says) and `/metrics` only.
 */
export async function startOpsHost(
  log: Logger,
  address: { host: string; port: number },
  ready: () => Promise<Readiness>,
  tls?: Tls,
): Promise<OpsHost> {
  const app = httpHost(log, { tls });
  opsRoutes(app, "", ready);
  await app.listen(address);
  const port = (app.server.address() as AddressInfo).port;
  return { url: `${schemeOf(tls)}://127.0.0.1:${port}`, port, close: () => app.close() };
}
