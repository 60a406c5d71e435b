import { type KV, type NatsConnection, openKv } from "@koine/bus";
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
    const entry = await this.#kv.get(id);
    if (entry?.operation !== "PUT") return undefined;
    const value: unknown = entry.json();
    return RecordCheck.Check(value) ? { record: value, revision: entry.revision } : undefined;
  }

  /** A new job. */
  async create(record: JobRecord): Promise<void> {
    await this.#kv.create(record.id, JSON.stringify(record));
  }

  /** Every job, by id. */
  async list(): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    for await (const key of await this.#kv.keys()) {
      const record = await this.get(key);
      if (record) records.push(record);
    }
    return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Changes a job: `change` gets the stored record and returns the new one
   * (undefined: no change); run again when another writer came first.
   */
  async update(id: string, change: (record: JobRecord) => JobRecord | undefined): Promise<JobRecord> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.#read(id);
      if (!current) throw new KoineError(ErrorCode.NotFound, `No job found with id ${id}`);
      const next = change(current.record);
      if (!next) return current.record;
      try {
        await this.#kv.update(id, JSON.stringify(next), current.revision);
        return next;
      } catch (err) {
        if (!/wrong last sequence/i.test((err as Error).message)) throw err;
      }
    }
    throw new KoineError(ErrorCode.Unavailable, `Cannot update job ${id}: too many concurrent changes`);
  }
}
