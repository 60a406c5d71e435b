import { anonymous, type Identities, namedUser, type Principal, principalOf, sameText } from "@koine/access";
import { ErrorCode, KoineError } from "@koine/protocol";
import type { FastifyRequest } from "fastify";
import { S3Error } from "./errors.ts";
import { verifyRequest } from "./sigv4.ts";

/** How a non-S3 API takes its callers: koine credentials only, or also a user named by the client (SIMPLE). */
export type AuthMode = "koine" | "simple";

function unauthenticated(message: string): KoineError {
  return new KoineError(ErrorCode.Unauthenticated, message);
}

/** The access key and secret of an `Authorization: Basic` header; undefined for another scheme. */
function basicCredentials(header: string): { accessKey: string; secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) throw unauthenticated("Basic credentials are accessKey:secretKey");
  return { accessKey: text.slice(0, colon), secret: text.slice(colon + 1) };
}

/**
 * Who sent a request to a koine HTTP API other than S3 (the Alluxio proxy,
 * the admin API): HTTP Basic with an access key and its secret, or a SigV4
 * signature made with them (header or presigned URL; the signature covers
 * the request line and headers); anonymous without either. In SIMPLE mode
 * (an operator's choice, as Alluxio's) the user named by Basic or by a
 * SigV4 credential is taken at its word, and is never an admin.
 * UNAUTHENTICATED for credentials that do not check out.
 */
export function authenticateHttp(req: FastifyRequest, identities: Identities, mode: AuthMode): Principal {
  const facts = { sourceIp: req.ip, secureTransport: req.protocol === "https" };
  const header = req.headers.authorization;
  const url = req.raw.url ?? "/";
  const presigned = /[?&]X-Amz-Signature=/.test(url);
  if (header === undefined && !presigned) return anonymous(facts);
  const basic = header === undefined ? undefined : basicCredentials(header);
  if (mode === "simple") {
    const name = basic?.accessKey ?? /Credential=([^/,\s&]+)/.exec(header ?? decodeURIComponent(url))?.[1];
    if (!name || !/^[A-Za-z0-9._-]{1,128}$/.test(name))
      throw unauthenticated("SIMPLE mode needs a user name (Basic or a SigV4 Credential)");
    return namedUser(name, identities.userOf(name)?.groups ?? [], facts);
  }
  if (basic) {
    const secret = identities.secretOf(basic.accessKey);
    const user = identities.userOf(basic.accessKey);
    if (secret === undefined || user === undefined || !sameText(secret, basic.secret))
      throw unauthenticated("Unknown access key or wrong secret");
    return principalOf(user, facts);
  }
  const q = url.indexOf("?");
  try {
    const auth = verifyRequest(req.raw, q < 0 ? url : url.slice(0, q), q < 0 ? "" : url.slice(q + 1), (ak) => identities.secretOf(ak));
    const user = auth.anonymous ? undefined : identities.userOf(auth.accessKey);
    if (!user) throw unauthenticated("Unknown access key");
    return principalOf(user, facts);
  } catch (err) {
    if (err instanceof S3Error) throw unauthenticated(`${err.code}: ${err.message}`);
    throw err;
  }
}
