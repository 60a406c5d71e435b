import { entriesOf, type KV, type NatsConnection, openKv, type Subscription, subscribe } from "@koine/bus";
import { Events, MEMBER_TTL_MS, MEMBERS_BUCKET, type Member } from "@koine/protocol";
import { Ring } from "@koine/ring";

/**
 * The live cache nodes. Each node publishes a heartbeat (plain NATS: it
 * follows a client's reconnects at once, and needs no JetStream leader)
 * and keeps its entry in the membership bucket, which gives a view
 * starting up, or asked to {@link refresh}, every node at once. A node not
 * heard of within the TTL is taken as gone; the ring follows the view.
 */
export class Membership {
  readonly #members = new Map<string, { member: Member; seenMs: number }>();
  /** When the last heartbeat of any member arrived. */
  #lastHeardMs = Date.now();
  #ring = new Ring([]);
  #kv: KV | undefined;
  #timer: NodeJS.Timeout | undefined;
  #subscriptions: Subscription[] = [];

  async start(nc: NatsConnection): Promise<void> {
    this.#subscriptions = [
      subscribe(nc, Events.memberHeartbeat, (member) => this.#accept(member, Date.now())),
      subscribe(nc, Events.memberLeft, ({ id }) => {
        if (this.#members.delete(id)) this.#rebuild();
      }),
    ];
    this.#kv = await openKv(nc, MEMBERS_BUCKET, { ttlMs: MEMBER_TTL_MS });
    await this.refresh();
    this.#timer = setInterval(() => this.#expire(), 1000);
    this.#timer.unref();
  }

  /**
   * Reads every entry of the membership bucket: what a view missed while
   * its NATS server was away (a job that places blocks starts with this).
   */
  async refresh(): Promise<void> {
    const kv = this.#kv;
    if (!kv) return;
    for (const entry of await entriesOf(kv)) {
      try {
        const value = entry.json();
        if (Events.memberHeartbeat.payload.Check(value)) this.#accept(value, Math.min(entry.created.getTime(), Date.now()));
      } catch {
        // a malformed entry is no member
      }
    }
  }

  /** Takes a member's heartbeat sent at `seenMs` (an older one than already heard changes nothing). */
  #accept(member: Member, seenMs: number): void {
    const known = this.#members.get(member.id);
    if (known && known.seenMs > seenMs) return;
    this.#members.set(member.id, { member, seenMs });
    this.#lastHeardMs = Math.max(this.#lastHeardMs, seenMs);
    if (!known || known.member.state !== member.state) this.#rebuild();
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
    for (const s of this.#subscriptions) s.unsubscribe();
  }
}
