/**
 * Helpers every koine test uses: a real nats-server on a free port with a
 * temporary store, temporary directories removed after the test.
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { type NatsServer, startNatsServer } from "@koine/bus";
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from "@koine/launcher";

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

/** A whole koine cluster in this process, on free ports, removed when the test ends. */
export async function bootCluster(
  t: TestContext,
  options: Omit<LocalClusterOptions, "home" | "natsPort" | "cachePort" | "s3Port"> & { home?: string } = {},
): Promise<LocalCluster> {
  const home = options.home ?? (await tempDir(t, "koine-home-"));
  const cluster = await startLocalCluster({ natsPort: 0, cachePort: 0, s3Port: 0, alluxioPort: 0, adminPort: 0, ...options, home });
  onCleanup(t, () => cluster.stop());
  return cluster;
}

/** Default credentials of a test cluster. */
export const TEST_CREDENTIALS = { accessKeyId: "koine", secretAccessKey: "koinesecret" } as const;

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

export type { AlluxioAnswer } from "./alluxio.ts";
export { adminCall, alluxioCall, alluxioOk, alluxioRead, alluxioWrite, waitFor } from "./alluxio.ts";
export type { RawResponse, SignOptions } from "./s3_raw.ts";
export { presignUrl, rawSignedRequest, signedRequest, signHeaders } from "./s3_raw.ts";

/**
 * A stock S3 client for `endpoint` (path style, default checksum settings)
 * that does not retry unless told to: a test sees the server's first answer.
 */
export function s3Client(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string } = TEST_CREDENTIALS,
  maxAttempts = 1,
): S3Client {
  return new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials, maxAttempts });
}

/**
 * What an S3 call came to: "ok", or its status and S3 error code
 * ("404 NoSuchKey"); a 304 has no code, so it is "304". Errors that are not
 * answers of the server are thrown.
 */
export function s3Outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "ok",
    (err: unknown) => {
      if (!(err instanceof S3ServiceException)) throw err;
      const status = err.$metadata.httpStatusCode;
      return status === 304 ? "304" : `${status} ${err.name}`;
    },
  );
}
