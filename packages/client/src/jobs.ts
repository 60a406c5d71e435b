import { entriesOf, isJetStreamTransient, type KV, type KvEntry, type NatsConnection, openKv, whenJetStreamReady } from "@koine/bus";
import { ErrorCode, JOBS_BUCKET, type JobRecord, JobSchemas, KoineError } from "@koine/protocol";
import { TypeCompiler } from "@sinclair/typebox/compiler";

const RecordCheck = TypeCompiler.Compile(JobSchemas.JobRecord);

/**
 * The records of the admin API's jobs, in a JetStream KV bucket: durable,
 * shared by the admin service (submit, progress, stop) and the job runner
 * (progress), changed with compare-and-set so that neither loses the
 * other's update.
 */
export class JobStore {
  readonly #kv: KV;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  static async open(nc: NatsConnection): Promise<JobStore> {
    return new JobStore(await openKv(nc, JOBS_BUCKET, { history: 1 }));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.#read(id))?.record;
  }

  async #read(id: string): Promise<{ record: JobRecord; revision: number } | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined;
    const entry = await whenJetStreamReady(() => this.#kv.get(id));
    return entry?.operation === "PUT" ? JobStore.#decode(entry) : undefined;
  }

  static #decode(entry: KvEntry): { record: JobRecord; revision: number } | undefined {
    const value: unknown = entry.json();
    return RecordCheck.Check(value) ? { record: value, revision: entry.revision } : undefined;
  }

  /** A new job (its id is new: finding it stored after a lost answer means the first try landed). */
  async create(record: JobRecord): Promise<void> {
    let tried = false;
    await whenJetStreamReady(() =>
      this.#kv.create(record.id, JSON.stringify(record)).catch(async (err) => {
        if (tried && /wrong last sequence/i.test((err as Error).message) && (await this.get(record.id))?.startTime === record.startTime) {
          return 0;
        }
        tried = true;
        throw err;
      }),
    );
  }

  /** Every job, by id. */
  async list(): Promise<JobRecord[]> {
    const records = (await entriesOf(this.#kv)).flatMap((entry) => JobStore.#decode(entry)?.record ?? []);
    return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Changes a job: `change` gets the stored record and returns the new one
   * (undefined: no change); run again when another writer came first.
   */
  async update(id: string, change: (record: JobRecord) => JobRecord | undefined): Promise<JobRecord> {
    for (let attempt = 0; attempt < 40; attempt++) {
      const current = await this.#read(id);
      if (!current) throw new KoineError(ErrorCode.NotFound, `No job found with id ${id}`);
      const next = change(current.record);
      if (!next) return current.record;
      try {
        await this.#kv.update(id, JSON.stringify(next), current.revision);
        return next;
      } catch (err) {
        if (/wrong last sequence/i.test((err as Error).message)) continue;
        if (!isJetStreamTransient(err)) throw err;
        // The answer was lost while JetStream failed over: the change may have landed (it is not applied twice).
        await new Promise((resolve) => setTimeout(resolve, 250));
        const now = await this.#read(id);
        if (now && now.revision > current.revision && JSON.stringify(now.record) === JSON.stringify(next)) return next;
      }
    }
    throw new KoineError(ErrorCode.Unavailable, `Cannot update job ${id}: too many concurrent changes`);
  }
}
