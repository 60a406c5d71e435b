import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { rangePages } from "@koine/client";
import type { Logger } from "@koine/log";
import {
  type BlockTarget,
  type ConcatRequest,
  ErrorCode,
  isWithin,
  KoineError,
  MAX_FILE_BYTES,
  type Policy,
  type Priority,
  type RangeLoaded,
  type ReadRange,
  type WriteTarget,
  type WrittenData,
} from "@koine/protocol";
import { Turns, type UnderFileSystem } from "@koine/ufs";
import { PageCutter, pageBytes } from "./page_cutter.ts";
import { PageStore } from "./page_store.ts";

/** What the engine needs of the cache policies (the client package's Policies). */
export interface CachePolicies {
  quotaFor(path: string): Policy | undefined;
  ttlMsFor(path: string): number | undefined;
  priorityFor(path: string): Priority;
  filterFor(path: string): Policy | undefined;
}

const PRIORITY_RANK: Record<Priority, number> = { LOW: 0, MEDIUM: 1, HIGH: 2 };
/** A content with no page here is forgotten this long after it was first placed. */
const FORGET_AFTER_MS = 60_000;

export interface DataCounters {
  hits: number;
  misses: number;
  coalescedMisses: number;
  ufsReadBytes: number;
}

interface Pending {
  /** The under-store read this page comes with. */
  run: object;
  promise: Promise<Buffer>;
  resolve(page: Buffer): void;
  reject(err: unknown): void;
}

function pending(run: object): Pending {
  let resolve!: (page: Buffer) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<Buffer>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // awaited by readers; a reader that left must not crash the process
  return { run, promise, resolve, reject };
}

/**
 * The bytes side of a cache node: reads through its page store to the
 * under-store (concurrent misses of a page share one under-store read),
 * and writes through to the under-store while keeping the owned pages.
 */
export class DataEngine {
  readonly store: PageStore;
  readonly pageSize: number;
  readonly counters: DataCounters = { hits: 0, misses: 0, coalescedMisses: 0, ufsReadBytes: 0 };
  readonly #ufsFor: (mountId: string) => Promise<UnderFileSystem>;
  readonly #inflight = new Map<string, Pending>();
  readonly #storing = new Set<Promise<void>>();
  /** The cache policies to enforce (quota, TTL, priority, skipCache); none without. */
  policies: CachePolicies | undefined;
  /** Where each content kept here lives in the namespace, and since when it is cached. */
  readonly #contents = new Map<string, { path: string; sinceMs: number }>();
  readonly #quotaTurns = new Turns();

  readonly #log: Logger;

  constructor(store: PageStore, pageSize: number, ufsFor: (mountId: string) => Promise<UnderFileSystem>, log: Logger) {
    this.#log = log;
    this.store = store;
    this.pageSize = pageSize;
    this.#ufsFor = ufsFor;
    store.rankOf = (contentId) => {
      const path = this.#contents.get(contentId)?.path;
      return path && this.policies ? PRIORITY_RANK[this.policies.priorityFor(path)] : PRIORITY_RANK.MEDIUM;
    };
  }

  /** Notes where a content lives, for its policies; a skipCache path keeps nothing. */
  #placed(contentId: string, path: string | undefined): { keep: boolean } {
    if (!path) return { keep: true };
    if (this.policies?.filterFor(path)?.filter === "skipCache") return { keep: false };
    if (!this.#contents.has(contentId)) this.#contents.set(contentId, { path, sinceMs: Date.now() });
    return { keep: true };
  }

  /**
   * Whether a page may be kept under `quota`, evicting the least recently
   * used pages under that quota to make room.
   */
  async #admit(quota: Policy & { bytes: number }, bytes: number): Promise<boolean> {
    const under = new Set<string>();
    let used = 0;
    for (const [id, c] of this.#contents) {
      if (isWithin(c.path, quota.path)) {
        under.add(id);
        used += this.store.bytesOf(id);
      }
    }
    const over = used + bytes - quota.bytes;
    if (over <= 0) return true;
    return (await this.store.evictAmong(under, over)) >= over;
  }

  /** Stores a page if its path's quota admits it (the pages under one quota are admitted one at a time). */
  async #putPage(contentId: string, key: string, page: Buffer | readonly Buffer[]): Promise<void> {
    const path = this.#contents.get(contentId)?.path;
    const quota = path ? this.policies?.quotaFor(path) : undefined;
    if (!quota || quota.bytes === undefined || this.store.isPinned(contentId)) return this.store.put(key, page);
    const bounded = { ...quota, bytes: quota.bytes };
    await this.#quotaTurns.run(quota.path, async () => {
      if (await this.#admit(bounded, pageBytes(page))) await this.store.put(key, page);
    });
  }

  /** Drops contents cached longer than their path's TTL; returns how many went. */
  async expire(): Promise<number> {
    if (!this.policies) return 0;
    const now = Date.now();
    let expired = 0;
    for (const [id, c] of [...this.#contents]) {
      if (this.store.bytesOf(id) === 0) {
        // Nothing of it is here any more (a content just placed may not have its first page yet).
        if (now - c.sinceMs > FORGET_AFTER_MS) this.#contents.delete(id);
        continue;
      }
      const ttl = this.policies.ttlMsFor(c.path);
      if (ttl === undefined || now - c.sinceMs < ttl || this.store.isPinned(id)) continue;
      await this.store.free([id]);
      this.#contents.delete(id);
      expired++;
    }
    return expired;
  }

  /**
   * The bytes of a range: a stream, or a buffer when they fit in one page. The
   * first page is fetched before this returns, so a missing or changed file
   * fails here, before any byte is sent.
   */
  async read(range: ReadRange): Promise<Readable | Buffer> {
    const r = range.keep !== false && !this.#placed(range.contentId, range.nsPath).keep ? { ...range, keep: false } : range;
    if (r.length === 0) return Buffer.alloc(0);
    if (r.offset + r.length > r.fileSize) throw new RangeError(`Cannot read past the end of "${r.path}"`);
    const { first, last, slice } = rangePages(r, this.pageSize);
    // Under-store reads this reader started: their later pages are its misses, not hits.
    const mine = new Set<object>();
    const firstPage = await this.#page(r, first, last, mine);
    // One page: its bytes as they are, without a stream around them.
    if (first === last) return slice(firstPage, first);
    const self = this;
    async function* pages() {
      yield slice(firstPage, first);
      for (let i = first + 1; i <= last; i++) yield slice(await self.#page(r, i, last, mine), i);
    }
    return Readable.from(pages(), { objectMode: false });
  }

  async #page(r: ReadRange, index: number, last: number, mine: Set<object>): Promise<Buffer> {
    const key = PageStore.key(r.contentId, index);
    const loading = this.#inflight.get(key);
    if (loading) {
      // Loading, or loaded and still being stored: no second under-store read.
      if (!mine.has(loading.run)) {
        this.counters.hits++;
        this.counters.coalescedMisses++;
      }
      return loading.promise;
    }
    if (this.store.has(key)) {
      const page = await this.store.get(key);
      if (page) {
        this.counters.hits++;
        return page;
      }
    }
    return this.#loadRun(r, index, last, mine);
  }

  /** Loads pages `first`.. (up to `last`, stopping at one already here) in one under-store read. */
  #loadRun(r: ReadRange, first: number, last: number, mine: Set<object>): Promise<Buffer> {
    if (r.cacheOnly) {
      return Promise.reject(
        new KoineError(
          ErrorCode.Unavailable,
          `Cannot read "${r.path}": its bytes are only in the cache, and page ${first} is not on this node`,
        ),
      );
    }
    const P = this.pageSize;
    let end = first;
    while (end < last) {
      const next = PageStore.key(r.contentId, end + 1);
      if (this.store.has(next) || this.#inflight.has(next)) break;
      end++;
    }
    const run = {};
    mine.add(run);
    const waiting: Pending[] = [];
    for (let i = first; i <= end; i++) {
      const p = pending(run);
      waiting.push(p);
      this.#inflight.set(PageStore.key(r.contentId, i), p);
    }
    this.counters.misses += waiting.length;
    const start = first * P;
    const stop = Math.min((end + 1) * P, r.fileSize);
    const settle = (i: number) => this.#inflight.delete(PageStore.key(r.contentId, i));
    void (async () => {
      let index = first;
      try {
        const ufs = await this.#ufsFor(r.mountId);
        const stream = await ufs.openRange(r.path, start, stop - start, r.fingerprint);
        const cutter = new PageCutter(P);
        const deliver = (page: Buffer) => {
          if (index > end) return;
          if (page.length !== Math.min(P, r.fileSize - index * P)) return; // short: reported below
          (waiting[index - first] as Pending).resolve(page);
          const loaded = index;
          if (r.keep === false) settle(loaded);
          else this.#keep(r.contentId, PageStore.key(r.contentId, index), page).finally(() => settle(loaded));
          index++;
        };
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          this.counters.ufsReadBytes += chunk.length;
          for (const page of cutter.push(chunk)) deliver(page);
        }
        const last = cutter.finish();
        if (last) deliver(last);
        if (index <= end) throw new Error(`Cannot read "${r.path}": the under-store file is shorter than expected`);
      } catch (err) {
        for (let i = index; i <= end; i++) {
          (waiting[i - first] as Pending).reject(err);
          settle(i);
        }
      }
    })();
    return (waiting[0] as Pending).promise;
  }

  /** Stores a page read from the under-store, in the background. */
  #keep(contentId: string, key: string, page: Buffer): Promise<void> {
    const done = this.#putPage(contentId, key, page)
      .catch((err) => this.#log.error({ err, page: key }, "cannot store a page"))
      .finally(() => this.#storing.delete(done));
    this.#storing.add(done);
    return done;
  }

  /**
   * Reads a range through into the page store (distributed load): pages
   * already here are not read again.
   */
  async load(r: ReadRange): Promise<RangeLoaded> {
    if (!this.#placed(r.contentId, r.nsPath).keep) return { loadedBytes: 0, cachedBytes: 0 };
    const P = this.pageSize;
    let missing = 0;
    for (const { index, key } of this.#pagesOf(r)) {
      if (!this.store.has(key)) missing += Math.min((index + 1) * P, r.fileSize) - index * P;
    }
    if (missing === 0) return { loadedBytes: 0, cachedBytes: r.length };
    const bytes = await this.read({ ...r, keep: true });
    if (!Buffer.isBuffer(bytes)) for await (const _ of bytes as AsyncIterable<Buffer>);
    await this.drain();
    return { loadedBytes: missing, cachedBytes: Math.max(0, r.length - missing) };
  }

  /** The pages of a range: their indexes and keys. */
  #pagesOf(r: ReadRange): { index: number; key: string }[] {
    const pages: { index: number; key: string }[] = [];
    for (let index = Math.floor(r.offset / this.pageSize); index * this.pageSize < r.offset + r.length; index++) {
      pages.push({ index, key: PageStore.key(r.contentId, index) });
    }
    return pages;
  }

  /** Whether every page of the range is here. */
  holds(r: ReadRange): boolean {
    return this.#pagesOf(r).every(({ key }) => this.store.has(key));
  }

  /** Drops the pages of a range (pinned contents keep theirs); returns how many went. */
  async drop(r: ReadRange): Promise<number> {
    if (this.store.isPinned(r.contentId)) return 0;
    let dropped = 0;
    for (const { key } of this.#pagesOf(r)) if (await this.store.remove(key)) dropped++;
    return dropped;
  }

  /** Waits for pages still being stored. */
  async drain(): Promise<void> {
    await Promise.all([...this.#storing]);
  }

  /** Streams `body` to the under-store, hashing it and keeping the pages of `cacheBlocks`. */
  async write(t: WriteTarget, body: AsyncIterable<Uint8Array>): Promise<WrittenData> {
    const ufs = await this.#ufsFor(t.mountId);
    const P = this.pageSize;
    const md5 = createHash("md5");
    const keep = new Set(this.#placed(t.contentId, t.nsPath).keep ? t.cacheBlocks : []);
    const stores: Promise<void>[] = [];
    const cutter = new PageCutter(P);
    let pageIndex = 0;
    // Pages as the views of the body's chunks they are made of: written to their files as they are, never copied.
    const storePage = (page: readonly Buffer[]) => {
      if (keep.has(Math.floor((pageIndex * P) / t.blockSize)))
        stores.push(this.#putPage(t.contentId, PageStore.key(t.contentId, pageIndex), page));
      pageIndex++;
    };
    async function* tapped() {
      for await (const input of body) {
        const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input);
        md5.update(chunk);
        if (keep.size > 0) for (const page of cutter.pushParts(chunk)) storePage(page);
        yield chunk;
      }
      const last = keep.size > 0 ? cutter.finishParts() : undefined;
      if (last) storePage(last);
    }
    const written = await writeOrStage(ufs, t.path, tapped(), t.stage);
    await Promise.all(stores);
    return { contentId: t.contentId, etag: md5.digest("hex"), mountId: t.mountId, ...written };
  }

  /**
   * Keeps one block of a file in the cache only (MUST_CACHE and
   * ASYNC_THROUGH writes): its pages are pinned from the first byte, so
   * they are never evicted; the commit makes the pin known cluster-wide.
   */
  async writeBlock(t: BlockTarget, body: AsyncIterable<Uint8Array>): Promise<{ size: number }> {
    checkBlock(t, this.pageSize);
    this.store.setPinned([t.contentId], true);
    const cutter = new PageCutter(this.pageSize);
    const first = (t.blockIndex * t.blockSize) / this.pageSize;
    let index = first;
    let size = 0;
    try {
      for await (const input of body) {
        const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input);
        size += chunk.length;
        if (size > t.blockSize)
          throw new KoineError(ErrorCode.InvalidArgument, `Block ${t.blockIndex} is larger than ${t.blockSize} bytes`);
        for (const page of cutter.pushParts(chunk)) await this.store.put(PageStore.key(t.contentId, index++), page);
      }
      const last = cutter.finishParts();
      if (last) await this.store.put(PageStore.key(t.contentId, index), last);
    } catch (err) {
      // No commit will name a block that failed: its pinned pages would never go.
      for (let i = first; i <= index; i++) await this.store.remove(PageStore.key(t.contentId, i));
      throw err;
    }
    return { size };
  }

  /** Writes the concatenation of staged files (a multipart upload's parts). */
  async concat(c: ConcatRequest): Promise<WrittenData> {
    const ufs = await this.#ufsFor(c.mountId);
    async function* parts() {
      for (const source of c.sources) {
        const status = await ufs.stat(source);
        if (!status) throw new Error(`Cannot concatenate: "${source}" is missing`);
        yield* (await ufs.openRange(source, 0, status.size)) as AsyncIterable<Buffer>;
      }
    }
    const written = await writeOrStage(ufs, c.path, parts(), c.stage);
    return {
      contentId: c.contentId,
      size: written.size,
      etag: "",
      ufsFingerprint: written.ufsFingerprint,
      mountId: c.mountId,
      ...(written.stagedPath ? { stagedPath: written.stagedPath } : {}),
    };
  }
}

/** Refuses a block that does not start on a page boundary or ends past the largest file. */
export function checkBlock(t: BlockTarget, pageSize: number): void {
  if ((t.blockIndex * t.blockSize) % pageSize !== 0)
    throw new KoineError(ErrorCode.InvalidArgument, "A block must start on a page boundary");
  if ((t.blockIndex + 1) * t.blockSize > MAX_FILE_BYTES) {
    throw new KoineError(ErrorCode.InvalidArgument, `Block ${t.blockIndex} would end past the largest file (${MAX_FILE_BYTES} bytes)`);
  }
}

/** Writes to `path`, or stages beside it for the metadata commit to publish. */
async function writeOrStage(
  ufs: UnderFileSystem,
  path: string,
  source: AsyncIterable<Uint8Array>,
  stage: boolean,
): Promise<{ size: number; ufsFingerprint: string; stagedPath?: string }> {
  if (!stage) {
    const status = await ufs.write(path, source);
    return { size: status.size, ufsFingerprint: status.fingerprint };
  }
  const staged = await ufs.stage(path, source);
  return { size: staged.status.size, ufsFingerprint: staged.status.fingerprint, stagedPath: staged.stagedPath };
}
