import { createHmac, timingSafeEqual } from "node:crypto";
import { type ClusterKey, subKey } from "./seal.ts";

/** Default lifetime of a bearer token, as AIS AuthN's (24 h). */
export const DEFAULT_TOKEN_LIFETIME_MS = 24 * 3600_000;

/**
 * Bearer tokens for dialects whose clients carry one (AIS, as its AuthN
 * issues them): a user's access key and an expiry, signed (HMAC) with a
 * sub-key of the cluster key, so that any koine service checks them
 * without asking anyone, and none holds a secret.
 */
export class BearerTokens {
  readonly #key: Buffer;

  constructor(key: ClusterKey) {
    this.#key = subKey(key, "bearer-tokens");
  }

  #mac(body: string): string {
    return createHmac("sha256", this.#key).update(body).digest("base64url");
  }

  issue(accessKey: string, lifetimeMs = DEFAULT_TOKEN_LIFETIME_MS, nowMs = Date.now()): string {
    const body = Buffer.from(JSON.stringify({ u: accessKey, e: nowMs + lifetimeMs })).toString("base64url");
    return `${body}.${this.#mac(body)}`;
  }

  /** The access key a token was issued to; undefined for a forged, changed or expired one. */
  verify(token: string, nowMs = Date.now()): string | undefined {
    const [body, mac] = token.split(".");
    if (!body || !mac) return undefined;
    const expected = Buffer.from(this.#mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const { u, e } = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { u?: unknown; e?: unknown };
      return typeof u === "string" && typeof e === "number" && e > nowMs ? u : undefined;
    } catch {
      return undefined;
    }
  }
}
