import { type KV, type NatsConnection, openKv } from "@koine/bus";
import { MEMBER_TTL_MS, MEMBERS_BUCKET, type Member, Schemas } from "@koine/protocol";
import { Ring } from "@koine/ring";
import { TypeCompiler } from "@sinclair/typebox/compiler";

const MemberCheck = TypeCompiler.Compile(Schemas.Member);

/**
 * The live cache nodes, watched in the membership bucket. An entry not
 * refreshed within the TTL is taken as gone; the ring follows the view.
 */
export class Membership {
  readonly #members = new Map<string, { member: Member; seenMs: number }>();
  /** When the last heartbeat of any member arrived. */
  #lastHeardMs = Date.now();
  #ring = new Ring([]);
  #kv: KV | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopWatch: (() => void) | undefined;

  async start(nc: NatsConnection): Promise<void> {
    this.#kv = await openKv(nc, MEMBERS_BUCKET, { ttlMs: MEMBER_TTL_MS });
    const watch = await this.#kv.watch();
    this.#stopWatch = () => watch.stop();
    for await (const key of await this.#kv.keys()) {
      const entry = await this.#kv.get(key);
      if (entry?.operation === "PUT") this.#accept(() => entry.json());
    }
    this.#rebuild();
    void (async () => {
      for await (const e of watch) {
        if (e.operation === "PUT") this.#accept(() => e.json());
        else this.#members.delete(e.key);
        this.#rebuild();
      }
    })();
    this.#timer = setInterval(() => this.#expire(), 1000);
    this.#timer.unref();
  }

  #accept(decode: () => unknown): void {
    try {
      const value = decode();
      if (MemberCheck.Check(value)) {
        this.#members.set(value.id, { member: value, seenMs: Date.now() });
        this.#lastHeardMs = Date.now();
      }
    } catch {
      // a malformed entry is no member
    }
  }

  /**
   * Drops members whose heartbeat is older than the TTL, but only while
   * heartbeats still arrive: when none has for half the TTL, it is this
   * view that is cut off (NATS failing over, JetStream electing a leader),
   * not every node, and the view stays as it was.
   */
  #expire(): void {
    const now = Date.now();
    if (now - this.#lastHeardMs > MEMBER_TTL_MS / 2) return;
    let changed = false;
    for (const [id, m] of this.#members) {
      if (now - m.seenMs > MEMBER_TTL_MS) {
        this.#members.delete(id);
        changed = true;
      }
    }
    if (changed) this.#rebuild();
  }

  /** The ring: live members, without those being decommissioned. */
  #rebuild(): void {
    this.#ring = new Ring([...this.#members.values()].filter((m) => m.member.state !== "DECOMMISSIONING").map((m) => m.member.id));
  }

  get ring(): Ring {
    return this.#ring;
  }

  member(id: string): Member | undefined {
    return this.#members.get(id)?.member;
  }

  /** Every member, those being decommissioned included. */
  members(): Member[] {
    return [...this.#members.values()].map((m) => m.member);
  }

  /** Waits until at least `count` nodes are live (or the timeout passes). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.#members.size < count) {
      if (Date.now() > until) throw new Error(`Cannot find ${count} cache nodes in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#stopWatch?.();
  }
}
