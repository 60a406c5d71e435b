import type { FileSystemClient } from "@koine/client";
import { METRICS_CONTENT_TYPE, metricsText } from "@koine/metrics";
import type { FastifyInstance } from "fastify";

/** How long metadata may take to answer a readiness check. */
const METADATA_CHECK_MS = 1_000;

/** What a service needs to serve, as `/readyz` reports it. */
export interface Readiness {
  ready: boolean;
  [what: string]: boolean | number;
}

/** A client's readiness: every shard of metadata answers within a second (so NATS is connected too), and at least one cache node is a member. */
export async function readiness(client: FileSystemClient): Promise<Readiness> {
  const metadata = await client.shards.loadMounts({ timeoutMs: METADATA_CHECK_MS, keep: true }).then(
    () => true,
    () => false,
  );
  const cacheNodes = client.membership.members().length;
  return { ready: metadata && cacheNodes > 0, metadata, cacheNodes };
}

/**
 * The endpoints every service answers, as JSON or Prometheus text:
 * `GET <prefix>/healthz` (200 while the process serves), `GET <prefix>/readyz`
 * (200 when `ready()` says so, else 503 with what is missing) and
 * `GET <prefix>/metrics`. Dialects that own the whole path space (S3) take
 * them under "/_koine", a path no bucket name can take.
 */
export function opsRoutes(app: FastifyInstance, prefix: string, ready: () => Promise<Readiness>): void {
  app.get(`${prefix}/healthz`, async (_req, reply) => reply.code(200).header("content-type", "application/json").send('{"status":"ok"}'));
  app.get(`${prefix}/readyz`, async (_req, reply) => {
    const state = await ready();
    return reply
      .code(state.ready ? 200 : 503)
      .header("content-type", "application/json")
      .send(JSON.stringify(state));
  });
  app.get(`${prefix}/metrics`, async (_req, reply) =>
    reply
      .code(200)
      .header("content-type", METRICS_CONTENT_TYPE)
      .send(await metricsText()),
  );
}
