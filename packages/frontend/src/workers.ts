import { type ChildProcess, fork } from "node:child_process";
import type { Server } from "node:net";
import { fileURLToPath } from "node:url";
import type { Logger } from "@koine/log";
import { type MetricsJson, metricsText, ownMetrics, sumOfMetrics, takeMetricsFrom } from "@koine/metrics";

/** Messages from a front-end's first process to a worker. */
type ToWorker =
  | { kind: "start"; options: object }
  | { kind: "stop" }
  | { kind: "metrics"; id: number }
  | { kind: "metrics-text"; id: number; text: string };

/** Messages from a worker to the first process. */
type FromWorker =
  | { kind: "ready" }
  | { kind: "failed"; message: string }
  | { kind: "metrics"; id: number; metrics: MetricsJson }
  | { kind: "metrics-text"; id: number };

/** How long a worker may take to start, and to answer for its metrics. */
const START_MS = 30_000;
const METRICS_MS = 2_000;
/** A worker that dies is started again after this long. */
const RESTART_MS = 1_000;
/** How long a stopping worker may take (its requests get 5 s) before it is killed. */
const STOP_MS = 8_000;

/** Node's flags of this process that a worker needs too (the TypeScript loader), not the test runner's or a debugger's. */
function workerExecArgv(): string[] {
  return process.execArgv.filter((flag) => !/^--(test|inspect|watch)/.test(flag));
}

let lastId = 0;

/** Every worker this process started, of whichever front-end: `/metrics` here adds them all up. */
const everyWorker = new Set<ChildProcess>();

/** This process's metrics and every worker's, summed (a worker that does not answer in time is left out). */
async function allProcessesMetrics(): Promise<string> {
  const theirs = await Promise.all(
    [...everyWorker].map((child) =>
      ask<{ metrics: MetricsJson }>(child, { kind: "metrics", id: ++lastId }, METRICS_MS).then((answer) => answer?.metrics),
    ),
  );
  return sumOfMetrics([await ownMetrics(), ...theirs.filter((m): m is MetricsJson => m !== undefined)]);
}

/** Sends `message` over the IPC channel of `to` and waits for the answer with the same id (undefined after `ms`). */
function ask<T>(to: ChildProcess | NodeJS.Process, message: ToWorker | FromWorker, ms: number): Promise<T | undefined> {
  const id = (message as { id: number }).id;
  return new Promise((resolve) => {
    const done = (answer: T | undefined) => {
      clearTimeout(timer);
      to.off("message", onMessage);
      resolve(answer);
    };
    const onMessage = (answer: { kind?: string; id?: number }) => {
      if (answer?.kind === message.kind && answer.id === id) done(answer as T);
    };
    const timer = setTimeout(() => done(undefined), ms);
    to.on("message", onMessage);
    (to.send as (m: unknown) => boolean)(message);
  });
}

export interface FrontEndWorkers {
  stop(): Promise<void>;
}

/**
 * Starts `count` worker processes of a front-end: each runs `entry` (which
 * calls {@link serveAsWorker}) with `options`, accepting connections on the
 * socket `server` listens on, which this process keeps accepting on too
 * (the kernel hands each connection to one of them, as nginx's workers
 * share theirs). A worker that dies (not one that was stopped) is started
 * again; `/metrics` on any of them answers the sum over all.
 */
export async function forkWorkers(
  spec: { entry: URL; count: number; options: object },
  server: Server,
  log: Logger,
): Promise<FrontEndWorkers> {
  const workers = new Set<ChildProcess>();
  let stopping = false;

  const startOne = (): Promise<ChildProcess> => {
    const child = fork(fileURLToPath(spec.entry), [], { serialization: "advanced", execArgv: workerExecArgv(), stdio: "inherit" });
    workers.add(child);
    everyWorker.add(child);
    takeMetricsFrom(allProcessesMetrics);
    child.on("message", (message: FromWorker) => {
      if (message?.kind !== "metrics-text") return;
      // A scrape that reached the worker: the sum over every process, from here.
      void metricsText().then((text) => child.connected && child.send({ kind: "metrics-text", id: message.id, text } satisfies ToWorker));
    });
    child.on("exit", (code, signal) => {
      workers.delete(child);
      everyWorker.delete(child);
      if (everyWorker.size === 0) takeMetricsFrom(undefined);
      if (stopping || (code === 0 && signal === null)) return;
      log.error({ pid: child.pid, code, signal }, "front-end worker died; starting another");
      setTimeout(() => {
        if (!stopping) startOne().catch((err) => log.error({ err }, "cannot start a front-end worker"));
      }, RESTART_MS).unref();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`A front-end worker did not start within ${START_MS / 1000} s`)), START_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(err);
      };
      const exitedEarly = (code: number | null) => fail(new Error(`A front-end worker exited (code ${code}) before it served`));
      child.once("exit", exitedEarly);
      child.on("message", (message: FromWorker) => {
        if (message?.kind === "failed") fail(new Error(`A front-end worker could not start: ${message.message}`));
        if (message?.kind !== "ready") return;
        clearTimeout(timer);
        child.off("exit", exitedEarly);
        resolve(child);
      });
      child.send({ kind: "start", options: spec.options } satisfies ToWorker, server);
    });
  };

  const stop = async () => {
    stopping = true;
    await Promise.all(
      [...workers].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill("SIGKILL"), STOP_MS);
            child.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            if (child.connected) child.send({ kind: "stop" } satisfies ToWorker);
            else child.kill("SIGTERM");
          }),
      ),
    );
  };

  try {
    await Promise.all(Array.from({ length: spec.count }, startOne));
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/**
 * The body of a front-end's worker process: waits for its options and the
 * socket to accept on, starts the front-end with them (`inheritedSocket`),
 * and stops it when told to, on SIGTERM, or when the process that started
 * it is gone.
 */
export function serveAsWorker<O extends object>(
  start: (options: O & { inheritedSocket: Server }) => Promise<{ stop(): Promise<void> }>,
): void {
  process.once("message", async (message: ToWorker, socket: Server) => {
    if (message?.kind !== "start") return;
    const send = (answer: FromWorker) => process.connected && process.send?.(answer);
    let frontEnd: { stop(): Promise<void> };
    try {
      frontEnd = await start({ ...(message.options as O), inheritedSocket: socket });
    } catch (err) {
      send({ kind: "failed", message: (err as Error).message });
      process.exit(1);
    }
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      void frontEnd.stop().finally(() => process.exit(0));
    };
    takeMetricsFrom(async () => {
      const answer = await ask<{ text: string }>(process, { kind: "metrics-text", id: ++lastId }, METRICS_MS);
      if (!answer) throw new Error("The front-end's first process did not send its metrics");
      return answer.text;
    });
    process.on("message", (m: ToWorker) => {
      if (m?.kind === "stop") stop();
      if (m?.kind === "metrics") void ownMetrics().then((metrics) => send({ kind: "metrics", id: m.id, metrics }));
    });
    process.on("disconnect", stop);
    process.on("SIGTERM", stop);
    // Ctrl-C reaches the terminal's whole process group: the first process decides when its workers stop.
    process.on("SIGINT", () => {});
    send({ kind: "ready" });
  });
}
