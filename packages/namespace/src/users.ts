import { type ClusterKey, seal } from "@koine/access";
import { publish } from "@koine/bus";
import { type Credential, ErrorCode, Events, KoineError, Meta, type PutUserRequest, type User } from "@koine/protocol";
import type { Database, RootDatabase } from "lmdb";
import type { Metadata } from "./context.ts";
import type { Namespace } from "./namespace.ts";

/**
 * The users (access key, groups, admin flag), in LMDB beside the namespace,
 * each secret sealed with the cluster key: the files hold no secret in
 * the clear, and no reply carries one. Changes go through the namespace's
 * journal, which carries secrets sealed too.
 */
export class Users {
  readonly #ns: Namespace;
  readonly #users: Database<Credential, string>;
  readonly #key: ClusterKey;

  constructor(root: RootDatabase, ns: Namespace, key: ClusterKey) {
    this.#ns = ns;
    this.#users = root.openDB({ name: "users" });
    this.#key = key;
    ns.defineChange("putUser", (at, credential: Omit<Credential, "createdMs">) => {
      const previous = this.#users.get(credential.accessKey);
      const stored = { ...credential, createdMs: previous?.createdMs ?? at };
      this.#users.put(credential.accessKey, stored);
      return userOf(stored);
    });
    ns.defineChange("removeUser", (_at, accessKey: string) => {
      const credential = this.#users.get(accessKey);
      if (!credential) throw new KoineError(ErrorCode.NotFound, `Cannot remove user "${accessKey}": no such user`);
      this.#users.remove(accessKey);
      return userOf(credential);
    });
  }

  /** Adds a user, or replaces one's secret, groups and admin flag. */
  put(request: PutUserRequest): Promise<User> {
    // Sealed before it is journaled (the seal's nonce is random: every replica stores the same sealed secret).
    const credential: Omit<Credential, "createdMs"> = {
      accessKey: request.accessKey,
      groups: request.groups ?? [],
      admin: request.admin ?? false,
      sealedSecret: seal(this.#key, request.secretKey),
    };
    return this.#ns.change("putUser", [credential]) as Promise<User>;
  }

  list(): User[] {
    return this.credentials().map(userOf);
  }

  /** Users with their sealed secrets; records from before secrets were sealed (no sealedSecret) are left out. */
  credentials(): Credential[] {
    return [...this.#users.getRange({}).map((e) => e.value)].filter((c) => typeof c.sealedSecret === "string");
  }

  remove(accessKey: string): Promise<User> {
    return this.#ns.change("removeUser", [accessKey]) as Promise<User>;
  }
}

function userOf({ accessKey, groups, admin, createdMs }: Credential): User {
  return { accessKey, groups: groups ?? [], admin: admin ?? false, createdMs };
}

/**
 * The users' requests: list, add or change, remove, and the sealed
 * credentials front-ends check signatures with; every front-end hears of a
 * change. `seeds` (the operator's settings) are put at start: their word wins.
 */
export async function serveUsers(m: Metadata, users: Users, seeds: readonly PutUserRequest[]): Promise<void> {
  for (const seed of seeds) await users.put(seed);
  m.on(Meta.listUsers, () => ({ users: users.list() }));
  m.on(Meta.credentials, () => ({ credentials: users.credentials() }));
  m.on(Meta.putUser, async (request) => {
    const user = await users.put(request);
    publish(m.nc, Events.usersChanged, { accessKeys: [user.accessKey] });
    return user;
  });
  m.on(Meta.removeUser, async ({ accessKey }) => {
    const user = await users.remove(accessKey);
    publish(m.nc, Events.usersChanged, { accessKeys: [accessKey] });
    return user;
  });
  if (seeds.length > 0) publish(m.nc, Events.usersChanged, { accessKeys: seeds.map((s) => s.accessKey) });
}
