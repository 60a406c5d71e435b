import type { EventType } from "@koine/protocol";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { subscribe } from "./rpc.ts";

type PayloadOf<E extends EventType> = E extends EventType<infer S> ? import("@sinclair/typebox").Static<S> : never;

/**
 * Who sends an event type lately: the last event of each sender (named by
 * `senderOf`) and when it was heard, from the moment this is made until
 * the connection closes or {@link stop}.
 */
export class LastHeard<E extends EventType> {
  readonly #last = new Map<string, { payload: PayloadOf<E>; heardMs: number }>();
  readonly #sub: Subscription;

  constructor(
    nc: NatsConnection,
    type: E,
    senderOf: (payload: PayloadOf<E>) => string,
    onHeard: (payload: PayloadOf<E>) => void = () => {},
  ) {
    this.#sub = subscribe(nc, type, (payload) => {
      this.#last.set(senderOf(payload), { payload, heardMs: Date.now() });
      onHeard(payload);
    });
  }

  /** The last event of each sender heard from within `withinMs`, with when it was heard. */
  within(withinMs: number): { payload: PayloadOf<E>; heardMs: number }[] {
    const since = Date.now() - withinMs;
    return [...this.#last.values()].filter((h) => h.heardMs >= since);
  }

  stop(): void {
    this.#sub.unsubscribe();
  }
}
