import { connect, workQueueConsumer } from "@koine/bus";
import { type DataNode, FileSystemClient } from "@koine/client";
import { JOBS_CONSUMER, JOBS_STREAM, JOBS_SUBJECTS, Jobs } from "@koine/protocol";
import type { JsMsg } from "@nats-io/jetstream";

export interface JobRunnerOptions {
  natsUrl: string;
  /** Cache nodes in this process, reached without HTTP. */
  localNodes?: ReadonlyMap<string, DataNode>;
}

export interface JobRunner {
  stop(): Promise<void>;
}

/** A failed job is offered again after this long. */
const RETRY_DELAY_MS = 2_000;
/** How long one fetch waits for a job (a stop waits at most this long). */
const POLL_MS = 1_000;
/** A running job tells JetStream it is alive this often (the ack wait is 30 s). */
const WORKING_EVERY_MS = 10_000;

/**
 * Starts the job runner: a durable consumer of the jobs work queue. A job
 * is acknowledged only once done, so one in the queue or running when the
 * runner stops is run again by the next runner. Job kinds: persist (the
 * ASYNC_THROUGH write of a version from the cache to the under-store);
 * any other kind is terminated as not implemented, never acknowledged as done.
 */
export async function start(options: JobRunnerOptions): Promise<JobRunner> {
  const nc = await connect({ servers: options.natsUrl, name: "koine-job-runner" });
  const client = await FileSystemClient.open({ nc, ...(options.localNodes ? { localNodes: options.localNodes } : {}) });
  const consumer = await workQueueConsumer(nc, { stream: JOBS_STREAM, subjects: JOBS_SUBJECTS, durable: JOBS_CONSUMER });
  let stopping = false;

  const run = async (m: JsMsg) => {
    if (m.subject !== Jobs.persist.subject) {
      console.error(`job-runner: job kind "${m.subject}" is not implemented; terminating it`);
      m.term(`job kind ${m.subject} is not implemented`);
      return;
    }
    let job: unknown;
    try {
      job = m.json();
    } catch {
      job = undefined;
    }
    if (!Jobs.persist.payload.Check(job)) {
      m.term("malformed persist job");
      return;
    }
    const alive = setInterval(() => m.working(), WORKING_EVERY_MS);
    try {
      await client.persist(job.contentId);
      m.ack();
    } catch (err) {
      console.error(`job-runner: cannot persist ${job.contentId} yet; retrying`, (err as Error).message);
      m.nak(RETRY_DELAY_MS);
    } finally {
      clearInterval(alive);
    }
  };
  // One job at a time, fetched only when the last is done: a runner that stops holds no job it has not started.
  const done = (async () => {
    while (!stopping) {
      const m = await consumer.next({ expires: POLL_MS }).catch((err) => {
        if (!stopping) console.error("job-runner: cannot fetch a job", (err as Error).message);
        return null;
      });
      if (m) await run(m);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await done;
      await client.close();
      await nc.drain();
    },
  };
}
