#!/usr/bin/env -S pnpm exec tsx
// Runs every check and test of the repo: types, format and lint, then all
// test files (Node 20's runner does not expand globs, so they are listed).
import { $, glob } from "zx";

$.verbose = true;
const root = new URL("..", import.meta.url).pathname;
$.cwd = root;

await $`pnpm exec tsc --noEmit -p .`;
await $`pnpm exec biome check .`;
await $`pnpm exec tsx scripts/check-deps.ts`;

const files = await glob(["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "launcher/src/**/*.test.ts", "test/**/*.test.ts"], {
  cwd: root,
});
files.sort();
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
await $({ stdio: "inherit" })`node --import tsx --test --test-reporter=spec --test-timeout=240000 ${selected}`;
