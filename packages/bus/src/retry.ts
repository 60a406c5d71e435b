import { setTimeout as sleep } from "node:timers/promises";

/** A task tried again until it succeeds; see {@link keepTrying}. */
export interface Retrying {
  /** Settles when the first attempt has ended: true when it succeeded. */
  readonly firstAttempt: Promise<boolean>;
  /** No more attempts. */
  stop(): void;
}

/**
 * Runs `attempt` now and, while it fails, again every `everyMs` in the
 * background until it succeeds or is stopped. A service starts this way
 * without waiting for a peer that is down (metadata, during an outage).
 */
export function keepTrying(
  attempt: () => Promise<void>,
  options: { everyMs?: number; onFailure?: (err: unknown, attempts: number) => void } = {},
): Retrying {
  const everyMs = options.everyMs ?? 1000;
  const state = { stopped: false };
  let settleFirst: (ok: boolean) => void = () => {};
  const firstAttempt = new Promise<boolean>((resolve) => {
    settleFirst = resolve;
  });
  void (async () => {
    for (let attempts = 1; !state.stopped; attempts++) {
      try {
        await attempt();
        settleFirst(true);
        return;
      } catch (err) {
        settleFirst(false);
        options.onFailure?.(err, attempts);
      }
      await sleep(everyMs);
    }
  })();
  return {
    firstAttempt,
    stop() {
      state.stopped = true;
    },
  };
}
