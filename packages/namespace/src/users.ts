import { publish } from "@koine/bus";
import { ErrorCode, Events, KoineError, Meta, type User } from "@koine/protocol";
import type { Database, RootDatabase } from "lmdb";
import type { Metadata } from "./context.ts";

/** S3 users (access key → secret), in LMDB beside the namespace. */
export class Users {
  readonly #root: RootDatabase;
  readonly #users: Database<User, string>;

  constructor(root: RootDatabase) {
    this.#root = root;
    this.#users = root.openDB({ name: "users" });
  }

  /** Adds a user, or sets a new secret for an existing one. */
  put(accessKey: string, secretKey: string): Promise<User> {
    return this.#root.transaction(() => {
      const user: User = { accessKey, secretKey, createdMs: this.#users.get(accessKey)?.createdMs ?? Date.now() };
      this.#users.put(accessKey, user);
      return user;
    });
  }

  list(): User[] {
    return [...this.#users.getRange({}).map((e) => e.value)];
  }

  remove(accessKey: string): Promise<User> {
    return this.#root.transaction(() => {
      const user = this.#users.get(accessKey);
      if (!user) throw new KoineError(ErrorCode.NotFound, `Cannot remove user "${accessKey}": no such user`);
      this.#users.remove(accessKey);
      return user;
    });
  }
}

/** The users' requests: list, add or change, remove; every front-end hears of a change. */
export function serveUsers(m: Metadata, users: Users): void {
  m.on(Meta.listUsers, () => ({ users: users.list() }));
  m.on(Meta.putUser, async ({ accessKey, secretKey }) => {
    const user = await users.put(accessKey, secretKey);
    publish(m.nc, Events.usersChanged, { accessKeys: [accessKey] });
    return user;
  });
  m.on(Meta.removeUser, async ({ accessKey }) => {
    const user = await users.remove(accessKey);
    publish(m.nc, Events.usersChanged, { accessKeys: [accessKey] });
    return user;
  });
}
