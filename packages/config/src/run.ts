/**
 * What every service's main.ts does: read its settings (a bad one stops
 * start-up with one line naming it), start, say where it serves, and stop
 * cleanly on SIGINT or SIGTERM.
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
      if (stopping) return;
      stopping = true;
      console.log(`${prefix} stopping`);
      void service.stop().then(() => process.exit(0));
    });
  }
}
