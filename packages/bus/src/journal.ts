import { randomUUID } from "node:crypto";
import { ErrorCode, KoineError } from "@koine/protocol";
import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
  type StreamState,
} from "@nats-io/jetstream";
import { type MsgHdrs, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import { clusterReplicas, whenJetStreamReady } from "./kv.ts";

/** How many records at most a read to the journal's end asks for one by one (more go through a consumer). */
const READ_BY_SEQUENCE = 64;

/** How long an append is tried again while the stream has no leader (a NATS server lost): then the change fails (503). */
const APPEND_RETRY_MS = 10_000;

/** A record's parts after the first (NATS caps a message's size; a record may be larger). */
const PARTS_HEADER = "Koine-Journal-Parts";
/** Who appended a record. */
const WRITER_HEADER = "Koine-Journal-Writer";

/** An append refused because another writer appended since this one last read (it is no longer the only writer). */
export class JournalFencedError extends KoineError {}

/** Where a journal begins (what is before was trimmed) and ends, and when its last record was stored (0: empty). */
export interface JournalBounds {
  firstSeq: number;
  lastSeq: number;
  lastStoredMs: number;
}

function boundsOf(state: StreamState): JournalBounds {
  return { firstSeq: state.first_seq, lastSeq: state.last_seq, lastStoredMs: state.last_seq === 0 ? 0 : Date.parse(state.last_ts) };
}

/** A read from a place the journal no longer holds (it was trimmed behind a snapshot): load a snapshot first. */
export class JournalTrimmedError extends KoineError {}

/** One record of a journal: its sequence (of its first message; `lastSeq`: of its last), its bytes, who appended it and when it was stored. */
export interface JournalRecord {
  seq: number;
  lastSeq: number;
  data: Uint8Array;
  writer: string;
  storedMs: number;
}

/**
 * An append-only log on a JetStream stream: records appended by one writer
 * at a time, each stored (on a quorum of the stream's replicas) before
 * `append` returns, in one order every reader sees. Appends say which
 * sequence they expect last, so a writer that is no longer the only one
 * (another took over) is refused instead of interleaving. A record larger
 * than a NATS message goes as consecutive messages.
 */
export class Journal {
  readonly #js: JetStreamClient;
  /**
   * Made once, at open: making one asks JetStream for the account's info,
   * which only the meta group's leader answers, and a cluster that lost that
   * leader's server elects another for seconds while the journal's stream
   * (led elsewhere) is readable.
   */
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #subject: string;
  readonly #maxPayload: number;
  readonly #writer: string;
  #last: number;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    stream: string,
    subject: string,
    maxPayload: number,
    last: number,
    writer: string,
  ) {
    this.#js = jetstream(nc);
    this.#jsm = jsm;
    this.#stream = stream;
    this.#subject = subject;
    this.#maxPayload = maxPayload;
    this.#last = last;
    this.#writer = writer;
  }

  /**
   * Opens the journal `stream` (subject `subject`), making the stream when
   * missing: file storage, replicated as the cluster allows. `writer` names
   * this process in the records it appends.
   */
  static async open(nc: NatsConnection, options: { stream: string; subject: string; writer?: string }): Promise<Journal> {
    const jsm = await whenJetStreamReady(() => jetstreamManager(nc));
    const config = { name: options.stream, subjects: [options.subject], storage: StorageType.File, num_replicas: clusterReplicas(nc) };
    await whenJetStreamReady(() =>
      jsm.streams.add(config).catch(async (err) => {
        if (!(await jsm.streams.info(options.stream).catch(() => undefined))) throw err;
      }),
    );
    const info = await whenJetStreamReady(() => jsm.streams.info(options.stream));
    // Room for the headers of a part.
    const maxPayload = Math.max(1024, (nc.info?.max_payload ?? 1024 * 1024) - 1024);
    return new Journal(nc, jsm, options.stream, options.subject, maxPayload, info.state.last_seq, options.writer ?? "");
  }

  /**
   * Where the journal `stream` begins and ends: its first sequence (what
   * is before was trimmed), its last and when that was stored (0: empty);
   * none when there is no such stream.
   */
  static async end(nc: NatsConnection, stream: string): Promise<JournalBounds | undefined> {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const info = await whenJetStreamReady(() => jsm.streams.info(stream)).catch((err: Error) => {
      if (/stream not found/i.test(err.message)) return undefined;
      throw err;
    });
    return info && boundsOf(info.state);
  }

  /** Where the journal begins (what is before was trimmed) and ends, as its stream says now (asked once). */
  async bounds(): Promise<JournalBounds> {
    return boundsOf((await whenJetStreamReady(() => this.#jsm.streams.info(this.#stream))).state);
  }

  /** The sequence of the last message of the journal as this writer knows it. */
  get last(): number {
    return this.#last;
  }

  /** Appends a record once the stream has stored it; its sequence. Refused (UNAVAILABLE) when another writer appended since. */
  async append(data: Uint8Array): Promise<number> {
    const parts: Uint8Array[] = [];
    for (let at = 0; at < data.length || parts.length === 0; at += this.#maxPayload) parts.push(data.subarray(at, at + this.#maxPayload));
    let first = 0;
    for (const [i, part] of parts.entries()) {
      const h = natsHeaders();
      if (i === 0 && parts.length > 1) h.set(PARTS_HEADER, String(parts.length));
      if (i === 0 && this.#writer) h.set(WRITER_HEADER, this.#writer);
      // Sent again while the stream elects a leader; its id makes a copy whose first answer was lost count once.
      const msgID = randomUUID();
      try {
        const ack = await whenJetStreamReady(
          () => this.#js.publish(this.#subject, part, { msgID, expect: { lastSequence: this.#last }, headers: h }),
          APPEND_RETRY_MS,
        );
        this.#last = ack.seq;
        if (i === 0) first = ack.seq;
      } catch (err) {
        const message = `Cannot append to the journal ${this.#stream} after sequence ${this.#last}: ${(err as Error).message}`;
        if (/wrong last sequence/i.test((err as Error).message))
          throw new JournalFencedError(ErrorCode.Unavailable, message, { cause: err });
        throw new KoineError(ErrorCode.Unavailable, message, { cause: err });
      }
    }
    return first;
  }

  /** Drops the records before sequence `before` (what a snapshot covers); how many messages went. */
  async trim(before: number): Promise<number> {
    return (await this.#jsm.streams.purge(this.#stream, { seq: before })).purged;
  }

  /**
   * Every record after sequence `after`, up to the last one there was when
   * called; with `follow`, every record appended later too, until the
   * signal is aborted. Fails with {@link JournalTrimmedError} when the
   * records right after `after` were trimmed.
   */
  async *read(after: number, options: { follow?: AbortSignal } = {}): AsyncGenerator<JournalRecord> {
    // Reads wait out a leader election (a stream whose leader moved, or whose server went) like set-up calls.
    const last = options.follow
      ? Number.POSITIVE_INFINITY
      : (await whenJetStreamReady(() => this.#jsm.streams.info(this.#stream))).state.last_seq;
    if (!options.follow) this.#last = Math.max(this.#last, last);
    if (last <= after || options.follow?.aborted) return;
    // A few records are asked of the stream's leader one by one: no consumer to make, which JetStream's meta
    // leader assigns (and a cluster that lost a server may be electing one for seconds).
    const messages = last - after <= READ_BY_SEQUENCE ? this.#bySequence(after + 1, last) : this.#consumed(after + 1, options.follow);
    let next = after + 1;
    let pending: (JournalRecord & { left: number; chunks: Uint8Array[] }) | undefined;
    for await (const m of messages) {
      if (m.seq > next) {
        // A gap is a trim only if the stream says so; else records were missed on the way: read again.
        const { firstSeq } = await this.bounds();
        if (firstSeq > next)
          throw new JournalTrimmedError(
            ErrorCode.Unavailable,
            `The journal ${this.#stream} no longer holds the records after ${after} (it begins at ${firstSeq}): a snapshot is needed`,
          );
        throw new KoineError(
          ErrorCode.Unavailable,
          `Records ${next}..${m.seq - 1} of the journal ${this.#stream} were missed: read it again`,
        );
      }
      next = m.seq + 1;
      if (pending) {
        pending.chunks.push(m.data);
        if (--pending.left === 0) {
          const { left: _, chunks, ...record } = pending;
          yield { ...record, lastSeq: m.seq, data: Buffer.concat(chunks) };
          pending = undefined;
        }
      } else {
        const record = { seq: m.seq, lastSeq: m.seq, data: m.data, writer: m.headers?.get(WRITER_HEADER) ?? "", storedMs: m.storedMs };
        const parts = Number(m.headers?.get(PARTS_HEADER) || "1");
        if (parts > 1) pending = { ...record, left: parts - 1, chunks: [m.data] };
        else yield record;
      }
      this.#last = Math.max(this.#last, m.seq);
      if (m.seq >= last) return;
    }
  }

  /** The messages from sequence `from` on, through an ordered consumer (until `follow` is aborted, when given). */
  async *#consumed(from: number, follow: AbortSignal | undefined): AsyncGenerator<JournalMessage> {
    const consumer = await this.#js.consumers.get(this.#stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => void messages.close();
    follow?.addEventListener("abort", stop);
    if (follow?.aborted) stop();
    try {
      for await (const m of messages) yield { seq: m.seq, data: m.data, headers: m.headers, storedMs: m.info.timestampNanos / 1e6 };
    } finally {
      follow?.removeEventListener("abort", stop);
      await messages.close();
    }
  }

  /** The messages from sequence `from` to `last`, each asked of the stream's leader (one gone leaves a gap). */
  async *#bySequence(from: number, last: number): AsyncGenerator<JournalMessage> {
    for (let seq = from; seq <= last; seq++) {
      const m = await whenJetStreamReady(() => this.#jsm.streams.getMessage(this.#stream, { seq }));
      if (m) yield { seq: m.seq, data: m.data, headers: m.header, storedMs: m.time.getTime() };
    }
  }
}

/** One message of a journal's stream, however it was read. */
interface JournalMessage {
  seq: number;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  storedMs: number;
}
