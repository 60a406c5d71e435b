import type { TObject } from "@sinclair/typebox";
import { portSettingOf, unknownSettings } from "./schema.ts";

/** A stop that takes longer than this is cut short: whatever it waits for will not come. */
const STOP_DEADLINE_MS = 30_000;

/**
 * What every service's main.ts does: read its settings (a bad one stops
 * start-up with one line naming it; an unknown KOINE_* variable is warned
 * about, naming the closest known one), start (a port in use stops it with
 * one line naming the setting to change), say where it serves, and stop
 * cleanly on SIGINT or SIGTERM; a second signal, or a stop still running
 * after 30 s, ends the process at once.
 */
export async function runService<O, S extends { stop(): Promise<void> }>(
  name: string,
  schema: TObject,
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
  for (const unknown of unknownSettings()) {
    console.error(`${prefix} ${unknown.name} is not a koine setting (did you mean ${unknown.closest}?); it is ignored`);
  }
  let service: S;
  try {
    service = await start(options);
  } catch (err) {
    const { code, port } = err as { code?: string; port?: number };
    if (code !== "EADDRINUSE" || port === undefined) throw err;
    const setting = portSettingOf(schema, port);
    console.error(`${prefix} port ${port} is in use: set ${setting ?? "its port setting"} to a free port (0 picks one)`);
    process.exit(2);
  }
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
