import { type ClusterKey, type Identities, unseal } from "@koine/access";
import { keepTrying, type NatsConnection, type Retrying, request, type Subscription, subscribe } from "@koine/bus";
import { ErrorCode, Events, KoineError, Meta, type User } from "@koine/protocol";

/**
 * The users a front-end authenticates, kept in memory (every request is
 * checked) and reloaded whenever metadata announces a change. Metadata
 * hands out secrets sealed with the cluster key; they are opened here.
 */
export class UserDirectory implements Identities {
  readonly #nc: NatsConnection;
  readonly #key: ClusterKey;
  /** Unknown until metadata first answers. */
  #users: Map<string, { user: User; secret: string }> | undefined;
  /** Why the last load failed, when it did. */
  #problem = "metadata has not answered since start";
  #events: Subscription | undefined;
  #loading: Retrying | undefined;

  private constructor(nc: NatsConnection, key: ClusterKey) {
    this.#nc = nc;
    this.#key = key;
  }

  /**
   * Loads the users. When metadata does not answer, the directory opens all
   * the same and tries again every second; until then every lookup is UNAVAILABLE.
   */
  static async open(nc: NatsConnection, key: ClusterKey): Promise<UserDirectory> {
    const directory = new UserDirectory(nc, key);
    directory.#events = subscribe(nc, Events.usersChanged, () => void directory.#reload().catch(() => {}));
    directory.#loading = keepTrying(() => directory.#reload());
    await directory.#loading.firstAttempt;
    return directory;
  }

  async #reload(): Promise<void> {
    const { credentials } = await request(this.#nc, Meta.credentials, {});
    const users = new Map<string, { user: User; secret: string }>();
    for (const { sealedSecret, ...user } of credentials) {
      try {
        users.set(user.accessKey, { user, secret: unseal(this.#key, sealedSecret) });
      } catch {
        this.#problem = "this front-end's cluster key (KOINE_CLUSTER_KEY) is not the one metadata sealed the users' secrets with";
        throw new KoineError(ErrorCode.Unavailable, this.#problem);
      }
    }
    this.#users = users;
  }

  #entry(accessKey: string) {
    if (this.#users === undefined) throw new KoineError(ErrorCode.Unavailable, `Cannot check credentials yet: ${this.#problem}`);
    return this.#users.get(accessKey);
  }

  secretOf(accessKey: string): string | undefined {
    return this.#entry(accessKey)?.secret;
  }

  userOf(accessKey: string): User | undefined {
    return this.#entry(accessKey)?.user;
  }

  close(): void {
    this.#loading?.stop();
    this.#events?.unsubscribe();
  }
}
