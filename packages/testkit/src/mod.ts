/**
 * Helpers every koine test uses: a real nats-server on a free port with a
 * temporary store, temporary directories removed after the test, waiting.
 * Clients of the dialects are in `@koine/testkit/clients`; a whole cluster
 * (`bootCluster`) in `@koine/launcher`, which composes the services.
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type NatsServer, startNatsServer } from "@koine/bus";

/** What `node:test` passes to a test: enough to register clean-up. */
export interface TestContext {
  after(fn: () => unknown): void;
}

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/** Runs `fn` when the test ends; clean-ups run last registered, first run. */
export function onCleanup(t: TestContext, fn: () => unknown): void {
  let stack = cleanups.get(t);
  if (!stack) {
    const fresh: (() => unknown)[] = [];
    stack = fresh;
    cleanups.set(t, fresh);
    t.after(async () => {
      while (fresh.length > 0) await (fresh.pop() as () => unknown)();
    });
  }
  stack.push(fn);
}

/** A temporary directory removed when the test ends. */
export async function tempDir(t: TestContext, prefix = "koine-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onCleanup(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A nats-server with JetStream on a free port, stopped when the test ends. */
export async function startNats(t: TestContext): Promise<NatsServer> {
  const storeDir = await tempDir(t, "koine-nats-");
  const server = await startNatsServer({ storeDir, port: 0 });
  onCleanup(t, () => server.stop());
  return server;
}

/** A stream of `size` random bytes in `chunk`-sized pieces, and the SHA-256 of what it yielded. */
export function randomStream(size: number, chunk = 1024 * 1024): { stream: import("node:stream").Readable; sha256: () => string } {
  const hash = createHash("sha256");
  let left = size;
  const stream = new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const piece = randomBytes(Math.min(chunk, left));
      left -= piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
  return { stream, sha256: () => hash.copy().digest("hex") };
}

/** SHA-256 of a byte stream (or anything async-iterable of bytes). */
export async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of source) hash.update(chunk);
  return hash.digest("hex");
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `count` different free ports (each held while the others are found, so none comes twice). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))));
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** The port settings of `npm run up`'s all-in-one cluster (every port it opens). */
const ALL_IN_ONE_PORTS = [
  "KOINE_NATS_PORT",
  "KOINE_S3_PORT",
  "KOINE_ALLUXIO_PORT",
  "KOINE_ADMIN_PORT",
  "KOINE_CACHE_PORT",
  "KOINE_AIS_PORT",
  // Else the target takes a free port at start, which may be one picked here for another.
  "KOINE_AIS_TARGET_PORT",
  "KOINE_CONSOLE_PORT",
  "KOINE_OZONE_PORT",
  "KOINE_OZONE_OM_PORT",
] as const;

/** Each port setting of the all-in-one cluster, set to a free port, no two alike. */
export async function allInOnePorts(): Promise<Record<(typeof ALL_IN_ONE_PORTS)[number], string>> {
  const ports = await freePorts(ALL_IN_ONE_PORTS.length);
  return Object.fromEntries(ALL_IN_ONE_PORTS.map((name, i) => [name, String(ports[i])])) as Record<
    (typeof ALL_IN_ONE_PORTS)[number],
    string
  >;
}

/** Whether `port` can be listened on now. */
async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (ok) await new Promise((resolve) => server.close(resolve));
  return ok;
}

/** `count` consecutive free ports (for services that take port + i), none of them in `taken`; the first is returned. */
export async function freePortRun(count: number, taken: readonly number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await freePort();
    const run = Array.from({ length: count }, (_, i) => first + i);
    if (run.some((p) => taken.includes(p) || p > 65535)) continue;
    if ((await Promise.all(run.slice(1).map(isFree))).every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export { STOCK_CLIENTS, stockPythonPath } from "./python.ts";
export { type TestTls, testTls } from "./tls.ts";
export { waitFor } from "./wait.ts";
