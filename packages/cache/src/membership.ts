import { type KV, type NatsConnection, openKv, publish } from "@koine/bus";
import { Events, MEMBER_HEARTBEAT_MS, MEMBER_TTL_MS, MEMBERS_BUCKET, type Member } from "@koine/protocol";

/**
 * A cache node's place in the cluster: its entry, published every 2 s on
 * NATS (the live view of every client) and stored in the membership
 * bucket (the view a client starts from, expiring 10 s after the last
 * beat); decommissioning and leaving.
 */
export class MemberHeartbeat {
  readonly #nc: NatsConnection;
  readonly #members: KV;
  readonly #entry: () => Omit<Member, "state" | "startedMs">;
  readonly #startedMs = Date.now();
  #state: NonNullable<Member["state"]> = "LIVE";
  #timer: NodeJS.Timeout | undefined;
  /** The last beat was stored. */
  stored = false;

  private constructor(nc: NatsConnection, members: KV, entry: () => Omit<Member, "state" | "startedMs">) {
    this.#nc = nc;
    this.#members = members;
    this.#entry = entry;
  }

  /** Joins: a first beat, then one every MEMBER_HEARTBEAT_MS. */
  static async start(nc: NatsConnection, entry: () => Omit<Member, "state" | "startedMs">): Promise<MemberHeartbeat> {
    const heartbeat = new MemberHeartbeat(nc, await openKv(nc, MEMBERS_BUCKET, { ttlMs: MEMBER_TTL_MS }), entry);
    await heartbeat.beat();
    heartbeat.#timer = setInterval(() => heartbeat.beat().catch(() => {}), MEMBER_HEARTBEAT_MS);
    return heartbeat;
  }

  entry(): Member {
    return { ...this.#entry(), state: this.#state, startedMs: this.#startedMs };
  }

  async beat(): Promise<void> {
    const current = this.entry();
    publish(this.#nc, Events.memberHeartbeat, current);
    try {
      await this.#members.put(current.id, JSON.stringify(current));
      this.stored = true;
    } catch (err) {
      this.stored = false;
      throw err;
    }
  }

  /** Leaves the ring (blocks are placed elsewhere) while staying a member. */
  async decommission(): Promise<Member> {
    this.#state = "DECOMMISSIONING";
    await this.beat();
    return this.entry();
  }

  /** Stops beating; with `goodbye`, says so (a crash says nothing and expires). */
  async stop(goodbye: boolean): Promise<void> {
    clearInterval(this.#timer);
    if (!goodbye) return;
    const { id } = this.#entry();
    publish(this.#nc, Events.memberLeft, { id });
    await this.#members.delete(id);
  }
}
