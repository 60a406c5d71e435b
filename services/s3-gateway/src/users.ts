import { type NatsConnection, request, type Subscription, subscribe } from "@koine/bus";
import { Events, Meta } from "@koine/protocol";

/**
 * The S3 users a gateway accepts, kept in memory (signatures are checked on
 * every request) and reloaded whenever metadata announces a change.
 */
export class UserDirectory {
  readonly #nc: NatsConnection;
  #secrets = new Map<string, string>();
  #events: Subscription | undefined;

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  /** Seeds the given users (the environment's word wins), then loads them all. */
  static async open(nc: NatsConnection, seeds: ReadonlyMap<string, string>): Promise<UserDirectory> {
    const directory = new UserDirectory(nc);
    for (const [accessKey, secretKey] of seeds) await request(nc, Meta.putUser, { accessKey, secretKey });
    directory.#events = subscribe(nc, Events.usersChanged, () => void directory.#reload().catch(() => {}));
    await directory.#reload();
    return directory;
  }

  async #reload(): Promise<void> {
    const { users } = await request(this.#nc, Meta.listUsers, {});
    this.#secrets = new Map(users.map((u) => [u.accessKey, u.secretKey]));
  }

  secretOf(accessKey: string): string | undefined {
    return this.#secrets.get(accessKey);
  }

  close(): void {
    this.#events?.unsubscribe();
  }
}
