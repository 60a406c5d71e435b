import { createHash, randomBytes, randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";

/** A request that takes longer has hung. */
export const HANG_MS = 60_000;

/** What a load saw. */
export interface Tally {
  /** Acknowledged writes: key → sha256 of the bytes. */
  acknowledged: Map<string, string>;
  /** Each acknowledged write's start and acknowledgement (ms since the epoch). */
  acks: { key: string; startedMs: number; ackedMs: number }[];
  /** How many requests came to each outcome ("PUT ok", "GET 503 ServiceUnavailable", ...). */
  outcomes: Map<string, number>;
  /** The first message of each kind of failure. */
  samples: Map<string, string>;
  wrongBytes: string[];
  hangs: string[];
}

/** What a failed request came to; one that ran for HANG_MS was cut off, and hung. */
function outcomeOf(err: unknown, startedMs: number): string {
  if (Date.now() - startedMs >= HANG_MS) return "hang";
  if (err instanceof S3ServiceException) return `${err.$metadata.httpStatusCode} ${err.name}`;
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  return `network ${e.code ?? e.cause?.code ?? e.name ?? "error"}`;
}

function count(tally: Tally, outcome: string, err?: unknown): void {
  tally.outcomes.set(outcome, (tally.outcomes.get(outcome) ?? 0) + 1);
  if (err && !tally.samples.has(outcome)) tally.samples.set(outcome, String((err as Error).message));
}

/**
 * A sustained S3 load on one bucket until stopped: writers putting objects
 * of 1 KiB to 1 MiB under `w<n>/`, readers checking acknowledged objects
 * byte for byte, a lister paging through the bucket a few keys a page.
 * Every outcome is tallied; a failed request is tried again (as another
 * key) after 100 ms. With `probeEveryMs`, a 1 KiB PUT under `probe/` also
 * starts that often whatever the others wait for: the time until a write
 * begun after a fault is acknowledged is then a new client's, not that of
 * the writers' requests that were under way when it struck.
 */
export class S3Load {
  readonly tally: Tally = { acknowledged: new Map(), acks: [], outcomes: new Map(), samples: new Map(), wrongBytes: [], hangs: [] };
  readonly #s3: S3Client;
  readonly #bucket: string;
  #running = true;
  readonly #load: Promise<void>[];

  constructor(s3: S3Client, bucket: string, options: { writers: number; readers: number; listers: number; probeEveryMs?: number }) {
    this.#s3 = s3;
    this.#bucket = bucket;
    this.#load = [
      ...Array.from({ length: options.writers }, (_, i) => this.#writer(i)),
      ...Array.from({ length: options.readers }, () => this.#reader()),
      ...Array.from({ length: options.listers }, () => this.#lister()),
      ...(options.probeEveryMs ? [this.#prober(options.probeEveryMs)] : []),
    ];
  }

  /** Stops the load once every request under way has ended. */
  async stop(): Promise<Tally> {
    this.#running = false;
    await Promise.all(this.#load);
    return this.tally;
  }

  /** Failures other than a 503 a client retries, or a connection refused or cut (while a gateway is down). */
  unexpected(): string[] {
    return [...this.tally.outcomes.keys()].filter((o) => !/^(GET|PUT|LIST) (ok|503 ServiceUnavailable|503 SlowDown|network \w+)$/.test(o));
  }

  async #writer(id: number): Promise<void> {
    for (let n = 0; this.#running; n++) {
      if (!(await this.#put(`w${id}/${n}`, randomBytes(randomInt(1024, 1024 * 1024))))) await sleep(100);
    }
  }

  async #prober(everyMs: number): Promise<void> {
    const probes: Promise<boolean>[] = [];
    for (let n = 0; this.#running; n++) {
      probes.push(this.#put(`probe/${n}`, randomBytes(1024)));
      await sleep(everyMs);
    }
    await Promise.all(probes);
  }

  /** Puts an object; whether it was acknowledged. */
  async #put(key: string, body: Buffer): Promise<boolean> {
    const tally = this.tally;
    const startedMs = Date.now();
    try {
      await this.#s3.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body }), {
        abortSignal: AbortSignal.timeout(HANG_MS),
      });
      tally.acknowledged.set(key, createHash("sha256").update(body).digest("hex"));
      tally.acks.push({ key, startedMs, ackedMs: Date.now() });
      count(tally, "PUT ok");
      return true;
    } catch (err) {
      const outcome = outcomeOf(err, startedMs);
      if (outcome === "hang") tally.hangs.push(`PUT ${key}`);
      count(tally, `PUT ${outcome}`, err);
      return false;
    }
  }

  async #reader(): Promise<void> {
    const tally = this.tally;
    while (this.#running) {
      const keys = [...tally.acknowledged.keys()];
      const key = keys[randomInt(Math.max(1, keys.length))];
      if (!key) {
        await sleep(50);
        continue;
      }
      const started = Date.now();
      try {
        const got = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }), {
          abortSignal: AbortSignal.timeout(HANG_MS),
        });
        const bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
        if (createHash("sha256").update(bytes).digest("hex") !== tally.acknowledged.get(key)) tally.wrongBytes.push(key);
        count(tally, "GET ok");
      } catch (err) {
        const outcome = outcomeOf(err, started);
        if (outcome === "hang") tally.hangs.push(`GET ${key}`);
        count(tally, `GET ${outcome}`, err);
        await sleep(100);
      }
    }
  }

  /** Pages through the bucket, a few keys a page, over and over: each page is an LMDB read of its own in metadata. */
  async #lister(): Promise<void> {
    const tally = this.tally;
    let token: string | undefined;
    while (this.#running) {
      const started = Date.now();
      try {
        const page = await this.#s3.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, MaxKeys: 7, ...(token ? { ContinuationToken: token } : {}) }),
          { abortSignal: AbortSignal.timeout(HANG_MS) },
        );
        token = page.NextContinuationToken;
        count(tally, "LIST ok");
      } catch (err) {
        const outcome = outcomeOf(err, started);
        if (outcome === "hang") tally.hangs.push("LIST");
        count(tally, `LIST ${outcome}`, err);
        await sleep(100);
      }
    }
  }
}

/** Milliseconds from `sinceMs` until a write begun after it was acknowledged (Infinity: none yet). */
export function resumedAfter(tally: Tally, sinceMs: number): number {
  const after = tally.acks.filter((a) => a.startedMs >= sinceMs).map((a) => a.ackedMs);
  return after.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...after) - sinceMs;
}

/** Sends again while the cluster answers 503 (a metadata leader changing hands: nothing lost), up to 30 s. */
async function whenAnswered<T>(send: () => Promise<T>): Promise<T> {
  for (const until = Date.now() + 30_000; ; await sleep(250)) {
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof S3ServiceException) || err.$metadata.httpStatusCode !== 503 || Date.now() > until) throw err;
    }
  }
}

/** Checks that every acknowledged object reads back byte-exact and is listed; the keys that do not. */
export async function missingOrWrong(s3: S3Client, bucket: string, acknowledged: ReadonlyMap<string, string>): Promise<string[]> {
  const bad: string[] = [];
  for (const [key, sha] of acknowledged) {
    const got = await whenAnswered(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    const bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    if (createHash("sha256").update(bytes).digest("hex") !== sha) bad.push(`${key}: other bytes`);
  }
  const listed = new Set<string>();
  let token: string | undefined;
  do {
    const page = await whenAnswered(() =>
      s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) })),
    );
    for (const o of page.Contents ?? []) listed.add(o.Key as string);
    token = page.NextContinuationToken;
  } while (token);
  for (const key of acknowledged.keys()) if (!listed.has(key)) bad.push(`${key}: not listed`);
  return bad;
}
