/** A stop that takes longer than this is cut short: whatever it waits for will not come. */
const STOP_DEADLINE_MS = 30_000;

/**
 * What every service's main.ts does: read its settings (a bad one stops
 * start-up with one line naming it), start, say where it serves, and stop
 * cleanly on SIGINT or SIGTERM; a second signal, or a stop still running
 * after 30 s, ends the process at once.
 */
export async function runService<O, S extends { stop(): Promise<void> }>(
  name: string,
  parse: () => O,
  start: (options: O) => Promise<S>,
  announce: (service: S, options: O) => string,
): Promise<void> {
  const prefix = name ? `koine ${name}:` : "koine:";
  let options: O;
  try {
    options = parse();
  } catch (err) {
    console.error(`${prefix} ${(err as Error).message}`);
    process.exit(2);
  }
  const service = await start(options);
  console.log(announce(service, options));
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) {
        console.error(`${prefix} ${signal} again: stopping now`);
        process.exit(1);
      }
      stopping = true;
      console.log(`${prefix} stopping (${signal} again to force)`);
      setTimeout(() => {
        console.error(`${prefix} could not stop within ${STOP_DEADLINE_MS / 1000} s: stopping now`);
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      service.stop().then(
        () => process.exit(0),
        (err) => {
          console.error(`${prefix} stop failed`, err);
          process.exit(1);
        },
      );
    });
  }
}
