import { LastHeard, type NatsConnection, publish } from "@koine/bus";
import { Events, type MetadataReplica, replicaKey } from "@koine/protocol";

/** How often a metadata replica says it is there. */
export const REPLICA_HEARTBEAT_MS = 1_000;

/**
 * The metadata replicas as their heartbeats tell (plain NATS events, heard
 * while JetStream elects its leaders): this replica's own, every second,
 * and the others' last. A leader whose lease lapsed goes on answering only
 * while no other replica is there to take over.
 */
export class ReplicaPresence {
  readonly #nc: NatsConnection;
  readonly #self: () => MetadataReplica;
  readonly #heard: LastHeard<typeof Events.metadataReplica>;
  readonly #timer: NodeJS.Timeout;

  constructor(nc: NatsConnection, self: () => MetadataReplica, onHeard: () => void) {
    this.#nc = nc;
    this.#self = self;
    this.#heard = new LastHeard(nc, Events.metadataReplica, replicaKey, onHeard);
    this.#timer = setInterval(() => this.beat(), REPLICA_HEARTBEAT_MS);
    this.beat();
  }

  beat(): void {
    publish(this.#nc, Events.metadataReplica, this.#self());
  }

  /** The other replicas of this one's shard heard from within `withinMs`. */
  others(withinMs: number): MetadataReplica[] {
    const self = this.#self();
    return this.#heard
      .within(withinMs)
      .map((h) => h.payload)
      .filter((state) => (state.shard ?? 0) === (self.shard ?? 0) && state.replica !== self.replica);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#heard.stop();
  }
}
