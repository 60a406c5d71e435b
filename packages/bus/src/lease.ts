import { setTimeout as sleep } from "node:timers/promises";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { openKv } from "./kv.ts";

/** How long a lease lasts unrenewed. */
export const DEFAULT_LEASE_TTL_MS = 3000;

export interface LeaseOptions {
  /** The KV bucket of leases (its entries expire after `ttlMs`). */
  bucket: string;
  /** What the lease is for: one holder at a time. */
  key: string;
  /** Who this process is, the same across its restarts: a holder that restarts takes its lease back at once. */
  holder: string;
  /** How long the lease lasts unrenewed. @default 3 s */
  ttlMs?: number;
}

/** What a lease holder does when it gains and loses the lease; each runs after the one before has ended, and must not throw. */
export interface LeaseHandlers {
  gained(): Promise<void>;
  lost(): Promise<void>;
}

/**
 * Leadership by a lease in a KV bucket whose entries expire: the holder
 * renews its key (compare-and-set on the revision it last wrote) three
 * times a TTL; another process takes the key only once it is gone. The
 * holder counts its lease lost a sixth of a TTL before the server can let
 * it go (by its own clock, from when it sent the renewal the server
 * stored), so two holders never overlap while clocks agree to that margin;
 * what they guard should still refuse a second writer on its own (the
 * journal's expected last sequence does).
 */
export class Lease {
  readonly #kv: KV;
  readonly #key: string;
  readonly #holder: string;
  readonly #ttlMs: number;
  #revision = 0;
  #validUntil = 0;
  #expiry: NodeJS.Timeout | undefined;
  readonly #stopped = new AbortController();
  #held = false;
  #transitions: Promise<void> = Promise.resolve();
  #handlers: LeaseHandlers = { gained: async () => {}, lost: async () => {} };
  #loop: Promise<void> = Promise.resolve();

  private constructor(kv: KV, key: string, holder: string, ttlMs: number) {
    this.#kv = kv;
    this.#key = key;
    this.#holder = holder;
    this.#ttlMs = ttlMs;
  }

  static async open(nc: NatsConnection, options: LeaseOptions): Promise<Lease> {
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    return new Lease(await openKv(nc, options.bucket, { ttlMs }), options.key, options.holder, ttlMs);
  }

  /** This process holds the lease now, by its own clock. */
  get held(): boolean {
    return this.#held && Date.now() < this.#validUntil;
  }

  /** Who holds the lease as the bucket says (none: it is free). */
  async holder(): Promise<string | undefined> {
    const entry = await this.#kv.get(this.#key);
    return entry?.operation === "PUT" ? entry.string() : undefined;
  }

  /**
   * Contends for the lease until stopped: `gained` when this process takes
   * it, `lost` when it can no longer renew it. Resolves once the first
   * attempt has ended (and `gained` with it, when it was taken).
   */
  async start(handlers: LeaseHandlers): Promise<void> {
    this.#handlers = handlers;
    await this.#attempt();
    await this.#transitions;
    this.#loop = this.#run();
  }

  /** Stops contending, giving the lease up when held (another takes it at once) after `lost` has run. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#loop;
    await this.resign();
  }

  /** Gives the lease up when held: `lost` runs, and the key goes so that another takes it at once. */
  async resign(): Promise<void> {
    if (this.#held) {
      const revision = this.#revision;
      this.#lose();
      await this.#kv.delete(this.#key, { previousSeq: revision }).catch(() => {});
    }
    await this.#transitions;
  }

  async #run(): Promise<void> {
    const { signal } = this.#stopped;
    while (!signal.aborted) {
      await sleep(this.#held ? this.#ttlMs / 3 : this.#ttlMs / 6, undefined, { signal }).catch(() => {});
      if (!signal.aborted) await this.#attempt();
    }
  }

  /** Takes the lease when free (or held by this holder before a restart), or renews it. */
  async #attempt(): Promise<void> {
    const sentAt = Date.now();
    try {
      if (this.#held) {
        this.#revision = await this.#kv.update(this.#key, this.#holder, this.#revision);
      } else {
        const entry = await this.#kv.get(this.#key);
        const mine = entry?.operation === "PUT" && entry.string() === this.#holder;
        this.#revision =
          mine && entry ? await this.#kv.update(this.#key, this.#holder, entry.revision) : await this.#kv.create(this.#key, this.#holder);
      }
    } catch (err) {
      // Another holder wrote the key: lost now. Otherwise (NATS unreachable) the lease lasts until it runs out.
      if (this.#held && /wrong last sequence/i.test((err as Error).message)) this.#lose();
      return;
    }
    this.#validUntil = sentAt + this.#ttlMs - this.#ttlMs / 6;
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => this.#lose(), this.#validUntil - Date.now()).unref();
    if (!this.#held) {
      this.#held = true;
      this.#transitions = this.#transitions.then(() => this.#handlers.gained());
    }
  }

  #lose(): void {
    clearTimeout(this.#expiry);
    if (!this.#held) return;
    this.#held = false;
    this.#validUntil = 0;
    this.#transitions = this.#transitions.then(() => this.#handlers.lost());
  }
}
