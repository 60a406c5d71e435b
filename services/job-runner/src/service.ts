import { hostname } from "node:os";
import { announceService, connectService, withRequestIdOf, workQueueConsumer } from "@koine/bus";
import { FileSystemClient, JobStore } from "@koine/client";
import { readiness, startOpsHost } from "@koine/frontend";
import { jobsEnded, jobsRunning, runJob } from "@koine/jobs";
import { serviceLogger } from "@koine/log";
import { JOBS_CONSUMER, JOBS_STREAM, JOBS_SUBJECTS, Jobs } from "@koine/protocol";
import type { JsMsg } from "@nats-io/jetstream";
import type { JobRunnerOptions } from "./config.ts";

export interface JobRunner {
  /** Where /healthz, /readyz and /metrics are, when served. */
  opsUrl?: string;
  /** Stops after the current batch of a job; the job is offered to the next runner at once. */
  stop(): Promise<void>;
  /** Stops at once, as a crash would: a job under way is offered again after the queue's ack wait. */
  abort(): Promise<void>;
}

/** A failed job is offered again after this long. */
const RETRY_DELAY_MS = 2_000;
/** How long one fetch waits for a job (a stop waits at most this long). */
const POLL_MS = 1_000;
/** A running job tells JetStream it is alive this often (well within the queue's ack wait). */
const WORKING_EVERY_MS = 3_000;

/** A job left for the next runner (this one is stopping): offered again at once. */
class Paused extends Error {}

/** A job that can never succeed: it is terminated, not retried. */
class Malformed extends Error {
  constructor(message = "malformed job") {
    super(message);
  }
}

/**
 * Starts the job runner: a durable consumer of the jobs work queue. A job
 * is acknowledged only once done, so one in the queue or running when the
 * runner stops is run again by the next runner (a load resumes after the
 * last batch its record shows done). Job kinds: persist (the ASYNC_THROUGH
 * write of a version from the cache to the under-store) and run (a job of
 * the admin API: load or free); any other kind is terminated as not
 * implemented, never acknowledged as done.
 */
export async function start(options: JobRunnerOptions): Promise<JobRunner> {
  const log = serviceLogger("job-runner");
  const nc = await connectService({ servers: options.natsUrl, role: "job-runner", clusterKey: options.clusterKey, ca: options.tls?.ca });
  const client = await FileSystemClient.open({
    nc,
    clusterKey: options.clusterKey,
    tlsCa: options.tls?.ca,
    ...(options.localNodes ? { localNodes: options.localNodes } : {}),
  });
  const consumer = await workQueueConsumer(nc, { stream: JOBS_STREAM, subjects: JOBS_SUBJECTS, durable: JOBS_CONSUMER });
  let stopping = false;

  const jobs = await JobStore.open(nc);
  /**
   * What each kind of message does, and the state it ended in; `label.kind`
   * starts as the queue's kind (persist, run) and becomes the job's own
   * (load, free, rebalance) once its record is read, for the metrics of every
   * ending, failures included. A message done is acknowledged, a failed one
   * offered again later.
   */
  const kinds: Record<string, (payload: unknown, label: { kind: string }) => Promise<string>> = {
    [Jobs.persist.subject]: async (job) => {
      if (!Jobs.persist.payload.Check(job)) throw new Malformed();
      await client.persist(job.contentId);
      return "SUCCEEDED";
    },
    [Jobs.run.subject]: async (job, label) => {
      if (!Jobs.run.payload.Check(job)) throw new Malformed();
      const record = await jobs.get(job.jobId);
      if (!record) return "STOPPED";
      label.kind = record.kind;
      jobsRunning.inc({ kind: record.kind });
      try {
        const state = await runJob({ client, jobs, log, stopping: () => stopping }, job.jobId);
        if (state === "paused") throw new Paused();
        return state;
      } finally {
        jobsRunning.dec({ kind: record.kind });
      }
    },
  };
  const run = (m: JsMsg) => withRequestIdOf(m.headers, () => runOne(m));
  const runOne = async (m: JsMsg) => {
    const kind = kinds[m.subject];
    let payload: unknown;
    try {
      payload = m.json();
    } catch {
      payload = undefined;
    }
    const alive = setInterval(() => m.working(), WORKING_EVERY_MS);
    const label = { kind: m.subject.slice(m.subject.lastIndexOf(".") + 1) };
    try {
      if (!kind) throw new Malformed(`job kind ${m.subject} is not implemented`);
      const state = await kind(payload, label);
      jobsEnded.inc({ ...label, state });
      m.ack();
    } catch (err) {
      if (err instanceof Paused) {
        m.nak();
      } else if (err instanceof Malformed) {
        log.error({ subject: m.subject, cause: err.message }, "terminating a job");
        jobsEnded.inc({ ...label, state: "TERMINATED" });
        m.term(err.message);
      } else {
        log.warn({ subject: m.subject, cause: (err as Error).message }, "a job failed; retrying");
        jobsEnded.inc({ ...label, state: "RETRIED" });
        m.nak(RETRY_DELAY_MS);
      }
    } finally {
      clearInterval(alive);
    }
  };
  // One job at a time, fetched only when the last is done: a runner that stops holds no job it has not started.
  const done = (async () => {
    while (!stopping) {
      const m = await consumer.next({ expires: POLL_MS }).catch((err) => {
        if (!stopping) log.warn({ cause: (err as Error).message }, "cannot fetch a job");
        return null;
      });
      if (m) await run(m);
    }
  })();
  const ops = options.ops && (await startOpsHost(log, options.ops, () => readiness(client), options.tls));
  const announced = announceService(nc, { role: "job-runner", id: `${hostname()}-${process.pid}`, ...(ops ? { opsUrl: ops.url } : {}) });
  return {
    ...(ops ? { opsUrl: ops.url } : {}),
    async abort() {
      stopping = true;
      await announced.stop(false);
      await ops?.close();
      await nc.close();
      await client.close();
    },
    async stop() {
      stopping = true;
      await announced.stop();
      await ops?.close();
      await done;
      await client.close();
      await nc.drain();
    },
  };
}
