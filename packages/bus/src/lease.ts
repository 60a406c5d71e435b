import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@koine/log";
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
  /** Where an attempt that took longer than a third of the TTL is told. */
  log?: Logger;
  /**
   * How long the lease must have been seen free before this process takes
   * it (0: at once), asked at each attempt: a process that others should
   * lead before leaves it to them for that long.
   */
  patienceMs?: () => number;
  /**
   * Asked when the key expired under this holder and it took it back:
   * whether nothing was done under another holder meanwhile (what the lease
   * guards says: a journal nobody else appended to), so that it may go on
   * as if it had held the lease throughout. @default never: it goes through
   * `lost` and `gained`.
   */
  undisturbed?: () => Promise<boolean>;
}

/**
 * What a lease holder does when it gains and loses the lease, and when its
 * hold lapses (no renewal stored for a TTL: another may have taken it) and
 * is confirmed again. Each runs after the one before has ended, and must
 * not throw.
 */
export interface LeaseHandlers {
  gained(): Promise<void>;
  lost(): Promise<void>;
  lapsed?(): Promise<void>;
  confirmed?(): Promise<void>;
}

/**
 * Leadership by a lease in a KV bucket whose entries expire: the holder
 * renews its key (compare-and-set on the revision it last wrote) three
 * times a TTL; another process takes the key only once it has expired.
 * The hold lapses a sixth of a TTL before the bucket can let the key go
 * (by the holder's clock, from when it sent the last renewal that was
 * stored): from then on the holder must act as if it did not lead (another
 * may), until a renewal is stored again (`confirmed`: nobody took it) or
 * refused (`lost`). A bucket that cannot be reached (its stream electing a
 * leader after a NATS server was lost) cannot let anyone else take it
 * either, but the holder cannot tell: it waits. What the lease guards must
 * still refuse a second writer on its own (the journal's expected last
 * sequence does): clocks may disagree.
 */
export class Lease {
  readonly #kv: KV;
  readonly #key: string;
  readonly #holder: string;
  readonly #ttlMs: number;
  #revision = 0;
  #held = false;
  #confirmedUntil = 0;
  #lapse: NodeJS.Timeout | undefined;
  #lapsed = false;
  readonly #stopped = new AbortController();
  #transitions: Promise<void> = Promise.resolve();
  #handlers: LeaseHandlers = { gained: async () => {}, lost: async () => {} };
  #loop: Promise<void> = Promise.resolve();
  readonly #log: Logger | undefined;
  readonly #patienceMs: () => number;
  readonly #undisturbed: () => Promise<boolean>;
  /** Since when this process has seen the lease free, while it leaves it to others. */
  #freeSince: number | undefined;

  private constructor(kv: KV, options: LeaseOptions, ttlMs: number) {
    this.#kv = kv;
    this.#key = options.key;
    this.#holder = options.holder;
    this.#ttlMs = ttlMs;
    this.#log = options.log;
    this.#patienceMs = options.patienceMs ?? (() => 0);
    this.#undisturbed = options.undisturbed ?? (async () => false);
  }

  static async open(nc: NatsConnection, options: LeaseOptions): Promise<Lease> {
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    return new Lease(await openKv(nc, options.bucket, { ttlMs }), options, ttlMs);
  }

  /** This process holds the lease, as far as it knows (it may have lapsed). */
  get held(): boolean {
    return this.#held;
  }

  /** This process holds the lease and renewed it recently enough that nobody else can have taken it. */
  get confirmed(): boolean {
    return this.#held && Date.now() < this.#confirmedUntil;
  }

  /** Renews (or takes) the lease now; whether it is held. */
  async renew(): Promise<boolean> {
    await this.#attempt();
    return this.#held;
  }

  /** Who holds the lease as the bucket says (none: it is free). */
  async holder(): Promise<string | undefined> {
    const entry = await this.#kv.get(this.#key);
    return entry?.operation === "PUT" ? entry.string() : undefined;
  }

  /**
   * Contends for the lease until stopped (see {@link LeaseHandlers}).
   * Resolves once the first attempt has ended (and `gained` with it, when
   * it was taken).
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
    await this.handOff();
  }

  /** Gives the lease up now, when held (another takes it at once); resolves once `lost` has run. Contends again unless stopped. */
  async handOff(): Promise<void> {
    if (this.#held) {
      const revision = this.#revision;
      this.#lose();
      await this.#kv.delete(this.#key, { previousSeq: revision }).catch(() => {});
    }
    await this.#transitions;
  }

  /** Whether this process leaves a free lease to others a while longer. */
  async #leavesItToOthers(): Promise<boolean> {
    const patience = this.#patienceMs();
    if (patience <= 0) return false;
    const entry = await this.#kv.get(this.#key).catch(() => undefined);
    if (entry?.operation === "PUT") {
      this.#freeSince = undefined;
      return entry.string() !== this.#holder;
    }
    this.#freeSince ??= Date.now();
    return Date.now() - this.#freeSince < patience;
  }

  async #run(): Promise<void> {
    const { signal } = this.#stopped;
    while (!signal.aborted) {
      await sleep(this.#held ? this.#ttlMs / 3 : this.#ttlMs / 6, undefined, { signal }).catch(() => {});
      if (!signal.aborted) await this.#attempt();
    }
  }

  /**
   * Takes the lease when free, or renews it. When the key is not at the
   * revision this process last wrote, it is still this holder's if it names
   * it (written by this process before a restart, or by a renewal whose
   * answer was lost). A key naming another holder means the lease is lost.
   * A key that expired under this holder (its bucket's stream was electing
   * a leader for longer than a TTL, or this process was cut off) is taken
   * back, but another may have held it meanwhile: unless `undisturbed` says
   * nothing was done under another holder, the lease counts as lost (and
   * gained again at the next attempt).
   */
  async #attempt(): Promise<void> {
    if (!this.#held && (await this.#leavesItToOthers())) return;
    this.#freeSince = undefined;
    const sentAt = Date.now();
    const refused = (err: unknown) => /wrong last sequence|key exists/i.test((err as Error).message);
    try {
      try {
        this.#revision = this.#held
          ? await this.#kv.update(this.#key, this.#holder, this.#revision)
          : await this.#kv.create(this.#key, this.#holder);
      } catch (err) {
        if (!refused(err)) throw err;
        const entry = await this.#kv.get(this.#key);
        const ours = entry?.operation === "PUT" && entry.string() === this.#holder;
        if (ours) this.#revision = await this.#kv.update(this.#key, this.#holder, entry.revision);
        else if (entry?.operation === "PUT") throw err;
        else {
          this.#revision = await this.#kv.create(this.#key, this.#holder);
          if (this.#held && !(await this.#undisturbed().catch(() => false))) throw err;
        }
      }
    } catch (err) {
      const ms = Date.now() - sentAt;
      if (ms > this.#ttlMs / 3) this.#log?.warn({ ms, cause: (err as Error).message, held: this.#held }, "a lease attempt was slow");
      // Another holder has the key, or may have had it: lost. Otherwise (the bucket unreachable) the hold lapses when its time is up.
      if (this.#held && refused(err)) this.#lose();
      return;
    }
    if (Date.now() - sentAt > this.#ttlMs / 3) this.#log?.warn({ ms: Date.now() - sentAt, held: this.#held }, "a lease attempt was slow");
    this.#confirmedUntil = sentAt + this.#ttlMs - this.#ttlMs / 6;
    clearTimeout(this.#lapse);
    this.#lapse = setTimeout(() => this.#lapseNow(), this.#confirmedUntil - Date.now()).unref();
    if (!this.#held) {
      this.#held = true;
      this.#then(this.#handlers.gained);
    } else if (this.#lapsed && Date.now() < this.#confirmedUntil) {
      // (An answer that came after the hold it would confirm had run out confirms nothing: the next one may.)
      this.#lapsed = false;
      this.#then(this.#handlers.confirmed);
    }
  }

  #lapseNow(): void {
    if (!this.#held || this.#lapsed) return;
    this.#lapsed = true;
    this.#then(this.#handlers.lapsed);
  }

  #lose(): void {
    clearTimeout(this.#lapse);
    if (!this.#held) return;
    this.#held = false;
    this.#lapsed = false;
    this.#confirmedUntil = 0;
    this.#then(this.#handlers.lost);
  }

  #then(handler: (() => Promise<void>) | undefined): void {
    if (handler) this.#transitions = this.#transitions.then(() => handler.call(this.#handlers));
  }
}
