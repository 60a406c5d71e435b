import { connect } from "@koine/bus";
import { JOBS_CONSUMER, JOBS_STREAM, JOBS_SUBJECTS } from "@koine/protocol";
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";

export interface JobRunnerOptions {
  natsUrl: string;
}

export interface JobRunner {
  stop(): Promise<void>;
}

/**
 * Starts the job runner: a durable consumer of the jobs work queue. No job
 * kind is implemented yet, so every job is terminated with a clear reason
 * (never acknowledged as done).
 */
export async function start(options: JobRunnerOptions): Promise<JobRunner> {
  const nc = await connect({ servers: options.natsUrl, name: "koine-job-runner" });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: JOBS_STREAM, subjects: [JOBS_SUBJECTS], retention: RetentionPolicy.Workqueue }).catch(async (err) => {
    if (!(await jsm.streams.info(JOBS_STREAM).catch(() => undefined))) throw err;
  });
  await jsm.consumers.add(JOBS_STREAM, { durable_name: JOBS_CONSUMER, ack_policy: AckPolicy.Explicit }).catch(async (err) => {
    if (!(await jsm.consumers.info(JOBS_STREAM, JOBS_CONSUMER).catch(() => undefined))) throw err;
  });
  const consumer = await jetstream(nc).consumers.get(JOBS_STREAM, JOBS_CONSUMER);
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const m of messages) {
      console.error(`job-runner: job kind "${m.subject}" is not implemented; terminating it`);
      m.term(`job kind ${m.subject} is not implemented`);
    }
  })();
  return {
    async stop() {
      await messages.close();
      await done;
      await nc.drain();
    },
  };
}
