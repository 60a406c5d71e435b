import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { PageSealer } from "@koine/access";
import { LruMap } from "./lru.ts";
import { pageBytes } from "./page_cutter.ts";

/** A page file: its seal, then its bytes. */
const HEADER_BYTES = PageSealer.TAG_BYTES;
/** A page given in parts up to this size is copied whole into memory when stored; a larger one is not. */
const SMALL_PAGE_BYTES = 64 * 1024;

/** Writes `buffers` to a new file at `path` in one call (a page's parts need not be joined first). */
async function writeWhole(path: string, buffers: Buffer[], size: number): Promise<void> {
  const file = await open(path, "w");
  try {
    const { bytesWritten } = await file.writev(buffers);
    if (bytesWritten !== size) throw new Error(`Cannot write page file ${path}: ${bytesWritten} of ${size} bytes written`);
  } finally {
    await file.close();
  }
}

/** The content id of a page key ("<contentId>/<page>"). */
function contentOf(key: string): string {
  return key.slice(0, key.indexOf("/"));
}

export interface PageStoreCounters {
  corruptPages: number;
  evictedPages: number;
  /** Bytes of pages read from memory and from disk. */
  memoryReadBytes: number;
  diskReadBytes: number;
}

/**
 * Pages of file contents on local disk, one file per page: a seal (a MAC
 * under the cluster key of the page's name and bytes), then the bytes. Least recently used pages go first when over capacity,
 * except the pages of pinned contents (pinned files, and bytes that are
 * not yet persisted anywhere else), which are never evicted; a page that
 * fails its seal (changed or planted on disk) is dropped, never served. The most
 * recently used pages are also kept in memory (checked when they were
 * read or written; see `put` for pages written in parts), up to `memoryBytes`.
 */
export class PageStore {
  readonly dir: string;
  readonly capacityBytes: number;
  readonly counters: PageStoreCounters = { corruptPages: 0, evictedPages: 0, memoryReadBytes: 0, diskReadBytes: 0 };
  /** Page key → size, in least-recently-used-first order. */
  readonly #index = new LruMap<number>();
  #used = 0;
  readonly memoryBytes: number;
  /** Page key → bytes, least recently used first. */
  readonly #memory = new LruMap<Buffer>();
  #memoryUsed = 0;
  /** Content ids whose pages are never evicted. */
  readonly #pinned = new Set<string>();
  /** Bytes kept per content id. */
  readonly #contentBytes = new Map<string, number>();
  /** Eviction rank of a content: lower ranks go first (priority LOW 0, MEDIUM 1, HIGH 2). */
  rankOf: (contentId: string) => number = () => 1;

  readonly #sealer: PageSealer;

  private constructor(dir: string, capacityBytes: number, memoryBytes: number, sealer: PageSealer) {
    this.#sealer = sealer;
    this.dir = dir;
    this.capacityBytes = capacityBytes;
    this.memoryBytes = memoryBytes;
  }

  /** Opens the store, re-indexing the pages already on disk (oldest first). */
  static async open(dir: string, capacityBytes: number, memoryBytes: number, sealer: PageSealer): Promise<PageStore> {
    const store = new PageStore(dir, capacityBytes, memoryBytes, sealer);
    await mkdir(dir, { recursive: true });
    const found: { key: string; size: number; mtimeMs: number }[] = [];
    for (const content of await readdir(dir)) {
      if (content.startsWith(".")) continue;
      for (const page of await readdir(join(dir, content)).catch(() => [] as string[])) {
        if (page.startsWith(".")) {
          await unlink(join(dir, content, page)).catch(() => {});
          continue;
        }
        const s = await stat(join(dir, content, page)).catch(() => undefined);
        if (s) found.push({ key: `${content}/${page}`, size: s.size - HEADER_BYTES, mtimeMs: s.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) store.#account(f.key, f.size);
    await store.#evict();
    return store;
  }

  static key(contentId: string, pageIndex: number): string {
    return `${contentId}/${pageIndex}`;
  }

  get usedBytes(): number {
    return this.#used;
  }

  get pages(): number {
    return this.#index.size;
  }

  has(key: string): boolean {
    return this.#index.has(key);
  }

  /** The page's bytes, or undefined when absent or corrupt (then dropped). */
  async get(key: string): Promise<Buffer | undefined> {
    const size = this.#index.get(key);
    if (size === undefined) return undefined;
    const inMemory = this.#memory.get(key);
    if (inMemory) {
      this.counters.memoryReadBytes += inMemory.length;
      return inMemory;
    }
    let raw: Buffer;
    try {
      raw = await readFile(join(this.dir, key));
    } catch {
      this.#forget(key);
      return undefined;
    }
    const data = this.#sealer.open(key, raw, size);
    if (!data) {
      this.counters.corruptPages++;
      await this.#remove(key);
      return undefined;
    }
    this.#remember(key, data);
    this.counters.diskReadBytes += data.length;
    return data;
  }

  /** Pins or unpins the pages of these contents. */
  setPinned(contentIds: Iterable<string>, pinned: boolean): void {
    for (const id of contentIds) {
      if (pinned) this.#pinned.add(id);
      else this.#pinned.delete(id);
    }
  }

  /** Replaces the whole pinned set (as the metadata service knows it). */
  resetPinned(contentIds: Iterable<string>): void {
    this.#pinned.clear();
    this.setPinned(contentIds, true);
  }

  /** The contents with pages here. */
  contentIds(): Set<string> {
    const ids = new Set<string>();
    for (const [key] of this.#index.entries()) ids.add(key.slice(0, key.indexOf("/")));
    return ids;
  }

  isPinned(contentId: string): boolean {
    return this.#pinned.has(contentId);
  }

  /**
   * Stores a page (atomically), then evicts down to capacity. A page of a
   * pinned content that cannot fit (the rest is pinned too) is refused
   * with an error: its bytes must not be dropped silently. A page given in
   * parts (views of the chunks it came in) is written as it is: it is kept
   * in memory only when small (a copy then), else read from its file when
   * first asked for.
   */
  async put(key: string, page: Buffer | readonly Buffer[]): Promise<void> {
    const pinned = this.#pinned.has(key.slice(0, key.indexOf("/")));
    const size = pageBytes(page);
    if (size + HEADER_BYTES > this.capacityBytes) {
      if (pinned) throw new Error(`Cannot keep page ${key}: it is larger than the whole cache`);
      return;
    }
    const path = join(this.dir, key);
    const dir = join(path, "..");
    await mkdir(dir, { recursive: true });
    const header = this.#sealer.seal(key, page);
    const tmp = join(dir, `.tmp-${randomBytes(6).toString("hex")}`);
    await writeWhole(tmp, [header, ...(Buffer.isBuffer(page) ? [page] : page)], HEADER_BYTES + size);
    await rename(tmp, path);
    this.#forget(key);
    this.#account(key, size);
    const whole = Buffer.isBuffer(page) ? page : size <= SMALL_PAGE_BYTES ? Buffer.concat(page, size) : undefined;
    if (whole) this.#remember(key, whole);
    await this.#evict();
    if (pinned && this.#used > this.capacityBytes) {
      await this.#remove(key);
      throw new Error(`Cannot keep page ${key}: the cache is full of pinned pages`);
    }
  }

  /** Drops every page of these contents (all pages when absent), except pinned ones. */
  async free(contentIds?: readonly string[]): Promise<{ freedPages: number; freedBytes: number }> {
    const wanted = contentIds ? new Set(contentIds) : undefined;
    let freedPages = 0;
    let freedBytes = 0;
    for (const [key, size] of [...this.#index.entries()]) {
      const contentId = key.slice(0, key.indexOf("/"));
      if ((wanted && !wanted.has(contentId)) || this.#pinned.has(contentId)) continue;
      await this.#remove(key);
      freedPages++;
      freedBytes += size;
    }
    for (const id of wanted ?? []) if (!this.#pinned.has(id)) await rm(join(this.dir, id), { recursive: true, force: true });
    return { freedPages, freedBytes };
  }

  #account(key: string, size: number): void {
    this.#index.set(key, size);
    this.#used += size;
    const id = contentOf(key);
    this.#contentBytes.set(id, (this.#contentBytes.get(id) ?? 0) + size);
  }

  /** Bytes kept of one content. */
  bytesOf(contentId: string): number {
    return this.#contentBytes.get(contentId) ?? 0;
  }

  /** Evicts least recently used, unpinned pages of these contents until `bytes` are freed; returns the bytes freed. */
  async evictAmong(contentIds: ReadonlySet<string>, bytes: number): Promise<number> {
    const victims: string[] = [];
    let freed = 0;
    for (const [key, size] of this.#index.entries()) {
      if (freed >= bytes) break;
      const id = contentOf(key);
      if (!contentIds.has(id) || this.#pinned.has(id)) continue;
      victims.push(key);
      freed += size;
    }
    for (const key of victims) {
      await this.#remove(key);
      this.counters.evictedPages++;
    }
    return freed;
  }

  #remember(key: string, data: Buffer): void {
    if (data.length > this.memoryBytes) return;
    this.#dropFromMemory(key);
    this.#memory.set(key, data);
    this.#memoryUsed += data.length;
    while (this.#memoryUsed > this.memoryBytes) {
      const oldest = this.#memory.oldest();
      if (oldest === undefined) break;
      this.#dropFromMemory(oldest);
    }
  }

  #dropFromMemory(key: string): void {
    const data = this.#memory.delete(key);
    if (data) this.#memoryUsed -= data.length;
  }

  #forget(key: string): void {
    this.#dropFromMemory(key);
    const size = this.#index.delete(key);
    if (size === undefined) return;
    this.#used -= size;
    const id = contentOf(key);
    const left = (this.#contentBytes.get(id) ?? 0) - size;
    if (left > 0) this.#contentBytes.set(id, left);
    else this.#contentBytes.delete(id);
  }

  /** Drops one page; false when it was not here. */
  async remove(key: string): Promise<boolean> {
    if (!this.#index.has(key)) return false;
    await this.#remove(key);
    return true;
  }

  async #remove(key: string): Promise<void> {
    this.#forget(key);
    await unlink(join(this.dir, key)).catch(() => {});
  }

  /** Evicts down to capacity: least recently used first within a rank, lower ranks first, pinned pages never. */
  async #evict(): Promise<void> {
    if (this.#used <= this.capacityBytes) return;
    const victims: string[] = [];
    let over = this.#used - this.capacityBytes;
    const rank = new Map<string, number>();
    for (let level = 0; level <= 2 && over > 0; level++) {
      for (const [key, size] of this.#index.entries()) {
        if (over <= 0) break;
        const id = contentOf(key);
        if (this.#pinned.has(id)) continue;
        if (!rank.has(id)) rank.set(id, Math.max(0, Math.min(2, this.rankOf(id))));
        if (rank.get(id) !== level) continue;
        victims.push(key);
        over -= size;
      }
    }
    for (const key of victims) {
      await this.#remove(key);
      this.counters.evictedPages++;
    }
  }
}
