import { describeInvalid, ErrorCode, type EventType, KoineError } from "@koine/protocol";
import { AckPolicy, type Consumer, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { clusterReplicas, whenJetStreamReady } from "./kv.ts";
import { requestIdHeaders } from "./request_id.ts";

/** A durable work queue on JetStream: a message stays until one consumer acknowledges it. */
export interface WorkQueueOptions {
  stream: string;
  subjects: string;
}

/**
 * How long a delivered message waits for its acknowledgement before it is
 * delivered again (a consumer that died mid-job): workers say they are
 * still working well within it.
 */
export const ACK_WAIT_MS = 10_000;

/** Creates the work-queue stream when missing (any service may be first). */
export async function ensureWorkQueue(nc: NatsConnection, options: WorkQueueOptions): Promise<void> {
  const jsm = await whenJetStreamReady(() => jetstreamManager(nc));
  const stream = {
    name: options.stream,
    subjects: [options.subjects],
    retention: RetentionPolicy.Workqueue,
    num_replicas: clusterReplicas(nc),
  };
  await whenJetStreamReady(() =>
    jsm.streams.add(stream).catch(async (err) => {
      if (!(await jsm.streams.info(options.stream).catch(() => undefined))) throw err;
    }),
  );
}

/** The durable consumer of a work queue, created when missing. */
export async function workQueueConsumer(nc: NatsConnection, options: WorkQueueOptions & { durable: string }): Promise<Consumer> {
  await ensureWorkQueue(nc, options);
  const jsm = await whenJetStreamReady(() => jetstreamManager(nc));
  const config = { durable_name: options.durable, ack_policy: AckPolicy.Explicit, ack_wait: ACK_WAIT_MS * 1_000_000 };
  await whenJetStreamReady(() =>
    jsm.consumers.add(options.stream, config).catch(async (err) => {
      if (!(await jsm.consumers.info(options.stream, options.durable).catch(() => undefined))) throw err;
    }),
  );
  return whenJetStreamReady(() => jetstream(nc).consumers.get(options.stream, options.durable));
}

/**
 * Puts a validated job on its queue once stored by JetStream; the same
 * `jobId` sent again within the duplicate window is stored once.
 */
export async function enqueue<E extends EventType>(
  nc: NatsConnection,
  type: E,
  payload: E extends EventType<infer S> ? import("@sinclair/typebox").Static<S> : never,
  jobId: string,
): Promise<void> {
  if (!type.payload.Check(payload)) {
    throw new KoineError(ErrorCode.InvalidArgument, `Invalid ${type.subject} job: ${describeInvalid(type.payload, payload)}`);
  }
  // Sent again while JetStream fails over: the message id makes a repeat land once.
  // The job carries the id of the request that queued it, for the runner's log lines.
  const carried = requestIdHeaders();
  await whenJetStreamReady(() =>
    jetstream(nc).publish(type.subject, JSON.stringify(payload), { msgID: jobId, ...(carried ? { headers: carried } : {}) }),
  );
}
