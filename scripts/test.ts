#!/usr/bin/env -S pnpm exec tsx
// Runs every check and test of the repo: types, format and lint, then all
// test files (Node 20's runner does not expand globs, so they are listed).
import { $, glob } from "zx";

$.verbose = true;
const root = new URL("..", import.meta.url).pathname;
$.cwd = root;

await $`pnpm exec tsc --noEmit -p .`;
// The console's browser code, with the DOM's types (apart: they would change fetch's for Node code).
await $`pnpm exec tsc --noEmit -p packages/console-app`;
await $`pnpm exec biome check .`;
await $`pnpm exec tsx scripts/check-deps.ts`;

const files = await glob(["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "launcher/src/**/*.test.ts", "test/**/*.test.ts"], {
  cwd: root,
});
files.sort();
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
// Files that kill processes, cut hosts off or time failovers run one at a time; the others two at a time.
const ALONE = /hosts|faults|failover|metadata-|launcher|cluster-script|ais-data-path/;
async function run(concurrency: number, list: string[]): Promise<number> {
  if (list.length === 0) return 0;
  const test = $({ stdio: "inherit", nothrow: true });
  const done = await test`node --import tsx --test --test-reporter=spec --test-timeout=240000 --test-concurrency=${concurrency} ${list}`;
  return done.exitCode ?? 1;
}
const together = await run(
  2,
  selected.filter((f) => !ALONE.test(f)),
);
const alone = await run(
  1,
  selected.filter((f) => ALONE.test(f)),
);
process.exitCode = together || alone;
