import { keepTrying, type NatsConnection, type Retrying, request, type Subscription, subscribe } from "@koine/bus";
import { ErrorCode, Events, KoineError, Meta } from "@koine/protocol";

/**
 * The S3 users a gateway accepts, kept in memory (signatures are checked on
 * every request) and reloaded whenever metadata announces a change.
 */
export class UserDirectory {
  readonly #nc: NatsConnection;
  /** Unknown until metadata first answers. */
  #secrets: Map<string, string> | undefined;
  #events: Subscription | undefined;
  #loading: Retrying | undefined;

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  /**
   * Seeds the given users (the environment's word wins), then loads them all.
   * When metadata does not answer, the directory opens all the same and tries
   * again every second; until then {@link secretOf} is UNAVAILABLE.
   */
  static async open(nc: NatsConnection, seeds: ReadonlyMap<string, string>): Promise<UserDirectory> {
    const directory = new UserDirectory(nc);
    directory.#events = subscribe(nc, Events.usersChanged, () => void directory.#reload().catch(() => {}));
    directory.#loading = keepTrying(async () => {
      for (const [accessKey, secretKey] of seeds) await request(nc, Meta.putUser, { accessKey, secretKey });
      await directory.#reload();
    });
    await directory.#loading.firstAttempt;
    return directory;
  }

  async #reload(): Promise<void> {
    const { users } = await request(this.#nc, Meta.listUsers, {});
    this.#secrets = new Map(users.map((u) => [u.accessKey, u.secretKey]));
  }

  /** The secret key of `accessKey`, undefined for no such user. */
  secretOf(accessKey: string): string | undefined {
    if (this.#secrets === undefined)
      throw new KoineError(ErrorCode.Unavailable, "Cannot check signatures yet: metadata has not answered since start");
    return this.#secrets.get(accessKey);
  }

  close(): void {
    this.#loading?.stop();
    this.#events?.unsubscribe();
  }
}
