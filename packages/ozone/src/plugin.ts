import type { Identities } from "@koine/access";
import type { FileSystemClient } from "@koine/client";
import { streamedBodies } from "@koine/frontend";
import type { FastifyPluginAsync } from "fastify";
import { bucketRoutes } from "./buckets.ts";
import { BUILT_IN_ADMINS, handler, type OzoneAuthMode, type OzoneContext, serverName } from "./context.ts";
import { OzoneError } from "./errors.ts";
import { keyRoutes } from "./keys.ts";
import { volumeRoutes } from "./volumes.ts";

export interface OzonePluginOptions {
  client: FileSystemClient;
  identities: Identities;
  /** KOINE_OZONE_AUTH: "simple" takes `OZONE <user>` at its word, as Ozone; "koine" (the default) wants a koine key. */
  auth?: OzoneAuthMode;
  /** Ozone admins besides root and hdfs (SIMPLE mode; KOINE_OZONE_ADMINS). */
  admins?: readonly string[];
  /** Groups of SIMPLE-mode users (KOINE_OZONE_GROUPS). */
  groups?: ReadonlyMap<string, readonly string[]>;
}

/**
 * The Apache Ozone v1 REST API (volumes, buckets, keys) over the shared
 * client and the one permission model: Ozone's request pipeline, errors
 * and JSON, with the quotas and ACLs Ozone only stored enforced
 * (docs/ozone-compatibility.md).
 */
export const ozonePlugin: FastifyPluginAsync<OzonePluginOptions> = async (app, options) => {
  const ctx: OzoneContext = {
    client: options.client,
    identities: options.identities,
    auth: options.auth ?? "koine",
    admins: new Set([...BUILT_IN_ADMINS, ...(options.admins ?? []).map((a) => a.toLowerCase())]),
    groups: options.groups ?? new Map(),
    serverName: serverName(),
  };
  streamedBodies(app);
  volumeRoutes(app, ctx);
  keyRoutes(app, ctx, bucketRoutes(app, ctx));
  // Every other method answers in Ozone's shape (its clients parse every error body).
  const unsupported = handler(
    ctx,
    "not implemented",
    () => ({ op: "Request", missing: "KEY", resource: null }),
    async (req) => {
      throw new OzoneError(
        "INVALID_REQUEST",
        `${req.method} ${(req.raw.url ?? "").split("?")[0]} is not an operation of the Ozone REST API`,
      );
    },
  );
  app.route({ method: ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"], url: "/", handler: unsupported });
  for (const url of ["/:volume", "/:volume/:bucket", "/:volume/:bucket/*"])
    app.route({ method: ["PATCH", "OPTIONS"], url, handler: unsupported });
};
