import { type NatsConnection, type RequestOptions, request } from "@koine/bus";
import {
  ErrorCode,
  KoineError,
  Meta,
  type Mount,
  type ReplyOf,
  type RequestOf,
  type Rpc,
  shardEndpoint,
  shardOf,
  shardOfUpload,
} from "@koine/protocol";

/** A shard's mount table, as a reply or an event carries it. */
interface ShardMounts {
  mounts: Mount[];
  shard?: number;
  shards?: number;
}

/**
 * The shards of metadata as a client sees them: how many there are (shard
 * 0's mount table says), each one's mount table, and where a request goes:
 * by its path's first segment, an upload by its id, to every shard for
 * what spans them (the root's listing, contents, pins).
 */
export class MetadataShards {
  readonly #nc: NatsConnection;
  #count: number | undefined;
  readonly #mounts = new Map<number, Mount[]>();

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  /** How many shards there are (UNAVAILABLE until shard 0 has answered). */
  get count(): number {
    if (this.#count === undefined)
      throw new KoineError(ErrorCode.Unavailable, "Cannot resolve paths yet: metadata has not answered since start");
    return this.#count;
  }

  /** Asks every shard for its mount table (shard 0 first: it says how many there are); `keep` leaves those known as they are. */
  async loadMounts(options: RequestOptions & { keep?: boolean } = {}): Promise<Mount[]> {
    const take = (reply: ShardMounts) => {
      if (!(options.keep && this.#mounts.has(reply.shard ?? 0))) this.learn(reply);
    };
    take(await request(this.#nc, Meta.mounts, {}, options));
    const others = this.indexes().slice(1);
    await Promise.all(others.map(async (shard) => take(await this.requestShard(Meta.mounts, {}, shard, options))));
    return this.mounts() ?? [];
  }

  /** Takes a shard's mount table from a reply or a change event. */
  learn(reply: ShardMounts): void {
    if (reply.shards !== undefined) this.#count = reply.shards;
    this.#mounts.set(reply.shard ?? 0, reply.mounts);
  }

  /** Every shard's mounts (the root's once): none until shard 0 has answered. */
  mounts(): Mount[] | undefined {
    if (!this.#mounts.has(0)) return undefined;
    const byId = new Map<string, Mount>();
    for (const mounts of this.#mounts.values()) for (const mount of mounts) byId.set(mount.id, mount);
    return [...byId.values()];
  }

  /** Asks the shard holding `path`. */
  request<R extends Rpc>(endpoint: R, payload: RequestOf<R>, path: string, options?: RequestOptions): Promise<ReplyOf<R>> {
    return this.requestShard(endpoint, payload, shardOf(path, this.count), options);
  }

  /** Asks the shard holding upload `uploadId`. */
  requestUpload<R extends Rpc>(endpoint: R, payload: RequestOf<R>, uploadId: string, options?: RequestOptions): Promise<ReplyOf<R>> {
    return this.requestShard(endpoint, payload, shardOfUpload(uploadId, this.count), options);
  }

  requestShard<R extends Rpc>(endpoint: R, payload: RequestOf<R>, shard: number, options?: RequestOptions): Promise<ReplyOf<R>> {
    return request(this.#nc, shardEndpoint(endpoint, shard), payload, options);
  }

  /** Asks every shard for what one of them holds (NOT_FOUND from the others); the reply of the one that does. */
  async any<R extends Rpc>(endpoint: R, payload: RequestOf<R>): Promise<ReplyOf<R>> {
    const replies = await Promise.allSettled((await this.#every()).map((shard) => this.requestShard(endpoint, payload, shard)));
    const found = replies.find((r) => r.status === "fulfilled");
    if (found) return (found as PromiseFulfilledResult<ReplyOf<R>>).value;
    const failures = replies.map((r) => (r as PromiseRejectedResult).reason as unknown);
    throw failures.find((err) => !(err instanceof KoineError && err.code === ErrorCode.NotFound)) ?? failures[0];
  }

  /** Asks every shard; their replies in shard order. */
  async all<R extends Rpc>(endpoint: R, payload: RequestOf<R>, options?: RequestOptions): Promise<ReplyOf<R>[]> {
    return Promise.all((await this.#every(options)).map((shard) => this.requestShard(endpoint, payload, shard, options)));
  }

  /** Every shard's index, once shard 0 has said how many there are (asked now when it has not yet). */
  async #every(options?: RequestOptions): Promise<number[]> {
    if (this.#count === undefined) await this.loadMounts({ ...options, keep: true });
    return this.indexes();
  }

  /** Every shard's index (UNAVAILABLE until shard 0 has answered). */
  indexes(): number[] {
    return Array.from({ length: this.count }, (_, shard) => shard);
  }
}
