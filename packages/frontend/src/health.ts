import { request } from "@koine/bus";
import type { FileSystemClient } from "@koine/client";
import { Meta } from "@koine/protocol";
import type { FastifyInstance } from "fastify";

/** How long metadata may take to answer a readiness check. */
const METADATA_CHECK_MS = 1_000;

/** What a front-end needs to serve, as `/readyz` reports it. */
export interface Readiness {
  ready: boolean;
  /** Metadata answered over NATS just now (so NATS is connected too). */
  metadata: boolean;
  /** Cache nodes in this front-end's membership view. */
  cacheNodes: number;
}

/** Asks now: metadata answers within a second, and at least one cache node is a member. */
export async function readiness(client: FileSystemClient): Promise<Readiness> {
  const metadata = await request(client.nc, Meta.mounts, {}, { timeoutMs: METADATA_CHECK_MS }).then(
    () => true,
    () => false,
  );
  const cacheNodes = client.membership.members().length;
  return { ready: metadata && cacheNodes > 0, metadata, cacheNodes };
}

/**
 * `GET <prefix>/healthz` (200 while the process serves) and `GET <prefix>/readyz`
 * (200 when {@link readiness} holds, else 503 with what is missing), as JSON.
 * Dialects that own the whole path space (S3) take them under "/_koine", a
 * path no bucket name can take.
 */
export function healthRoutes(app: FastifyInstance, client: FileSystemClient, prefix: string): void {
  app.get(`${prefix}/healthz`, async (_req, reply) => reply.code(200).header("content-type", "application/json").send('{"status":"ok"}'));
  app.get(`${prefix}/readyz`, async (_req, reply) => {
    const state = await readiness(client);
    return reply
      .code(state.ready ? 200 : 503)
      .header("content-type", "application/json")
      .send(JSON.stringify(state));
  });
}
