import type { User } from "@koine/protocol";

/** Who asks, as every dialect's authentication resolves it, with the facts of the request a policy may test. */
export interface Principal {
  /** The user's access key; "" for an anonymous request. */
  readonly user: string;
  readonly anonymous: boolean;
  readonly groups: readonly string[];
  readonly admin: boolean;
  /** The client's address (aws:SourceIp). */
  readonly sourceIp: string;
  /** Whether the request came over TLS (aws:SecureTransport). */
  readonly secureTransport: boolean;
}

/** Where a request came from: what a policy condition may test. */
export interface RequestFacts {
  sourceIp: string;
  secureTransport: boolean;
}

/** Nobody: what a request without credentials is. */
export function anonymous(facts: RequestFacts): Principal {
  return { user: "", anonymous: true, groups: [], admin: false, ...facts };
}

/** A known user making a request. */
export function principalOf(user: Pick<User, "accessKey" | "groups" | "admin">, facts: RequestFacts): Principal {
  return { user: user.accessKey, anonymous: false, groups: user.groups, admin: user.admin, ...facts };
}

/** A user named by the client and not checked (Alluxio's and Ozone's SIMPLE mode): never an admin. */
export function namedUser(name: string, groups: readonly string[], facts: RequestFacts): Principal {
  return { user: name, anonymous: false, groups, admin: false, ...facts };
}

/** What a front-end knows of its users: the secret a signature is checked with, and who a key belongs to. */
export interface Identities {
  /** The secret key of `accessKey`; undefined for no such user. */
  secretOf(accessKey: string): string | undefined;
  /** The user of `accessKey`; undefined for no such user. */
  userOf(accessKey: string): User | undefined;
}
