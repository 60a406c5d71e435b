import { anonymous, type ClusterKey, DataRequestSigner, type Identities, type Principal, principalOf } from "@koine/access";
import { FileSystemClient } from "@koine/client";
import type { FileInfo } from "@koine/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AisError } from "./errors.ts";
import { hrwTarget } from "./hrw.ts";

/** The query parameters a redirect adds: AIS's pid/utm, and koine's signed user. */
const USER_PARAM = "ku";
const SIGNATURE_PARAM = "ks";

/**
 * Redirects to targets and their checks. The gateway has decided who asks
 * (a target never sees the client's credentials: HTTP clients drop them
 * when a redirect changes the port), so it names the user in the
 * redirect and signs method, path and user with the cluster key; a target
 * takes only redirects so signed, for five minutes.
 */
export class Redirects {
  readonly #signer: DataRequestSigner;
  readonly #identities: Identities;

  constructor(key: ClusterKey, identities: Identities) {
    this.#signer = new DataRequestSigner(key);
    this.#identities = identities;
  }

  /** Answers `status` with a Location at `base` (a target's URL): the request's path and query, plus pid, utm and the signed user. */
  send(req: FastifyRequest, reply: FastifyReply, base: string, status: 301 | 307, principal: Principal, from: string): FastifyReply {
    const { path, query } = rawTarget(req);
    for (const name of [USER_PARAM, SIGNATURE_PARAM, "pid", "utm"]) query.delete(name);
    query.set("pid", from);
    query.set("utm", (BigInt(Date.now()) * 1_000_000n).toString(36));
    query.set(USER_PARAM, principal.user);
    query.set(SIGNATURE_PARAM, this.#signer.sign(req.method, `ais ${path}\n${principal.user}`));
    return reply
      .code(status)
      .header("location", `${new URL(base).origin}${path}?${query}`)
      .send();
  }

  /** The user a signed redirect names; undefined when the request is no redirect; 401 for a bad or stale signature. */
  principalOf(req: FastifyRequest): Principal | undefined {
    const query = req.query as Record<string, string | undefined>;
    const signature = query[SIGNATURE_PARAM];
    if (signature === undefined) return undefined;
    const user = query[USER_PARAM] ?? "";
    const { path } = rawTarget(req);
    if (!this.#signer.verify(req.method, `ais ${path}\n${user}`, signature)) throw new AisError(401, "invalid or expired redirect");
    const facts = { sourceIp: req.ip, secureTransport: req.protocol === "https" };
    if (user === "") return anonymous(facts);
    const known = this.#identities.userOf(user);
    if (!known) throw new AisError(401, "invalid or expired redirect: no such user");
    return principalOf(known, facts);
  }
}

/**
 * The request's path exactly as sent, and its query: an object name's "."
 * and ".." (sent as %2E) are names, which a URL parser would resolve away.
 */
function rawTarget(req: FastifyRequest): { path: string; query: URLSearchParams } {
  const url = req.raw.url ?? "/";
  const cut = url.indexOf("?");
  return cut < 0
    ? { path: url, query: new URLSearchParams() }
    : { path: url.slice(0, cut), query: new URLSearchParams(url.slice(cut + 1)) };
}

/** The cache nodes that serve AIS objects (the targets), by id: their AIS URL. */
export function targetsOf(client: FileSystemClient): Map<string, string> {
  const targets = new Map<string, string>();
  for (const m of client.membership.members()) if (m.aisUrl !== undefined && m.state !== "DECOMMISSIONING") targets.set(m.id, m.aisUrl);
  return targets;
}

/** The target that owns a file: the cache node of its first block (the one holding it, for bytes only in the cache). */
export function ownerOf(client: FileSystemClient, targets: Map<string, string>, info: FileInfo): string | undefined {
  const holder = info.persistence === "PERSISTED" ? undefined : info.cachedOn?.[0];
  if (holder !== undefined && targets.has(holder)) return holder;
  for (const id of client.membership.ring.preferenceFor(FileSystemClient.blockKey(info.contentId, 0))) {
    if (targets.has(id)) return id;
  }
  return undefined;
}

/** The target AIS would pick for a new object (its HRW over the targets' ids), as the SDK's direct reads do. */
export function hrwOwner(targets: Map<string, string>, bucket: { provider: string; name: string }, object: string): string | undefined {
  return hrwTarget([...targets.keys()], bucket.name, object, bucket.provider);
}
