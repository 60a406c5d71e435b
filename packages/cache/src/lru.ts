interface Entry<V> {
  key: string;
  value: V;
  older: Entry<V> | undefined;
  newer: Entry<V> | undefined;
}

/**
 * A map that keeps its keys in least-recently-used order, every operation
 * O(1). (Deleting and re-inserting into a JS Map to move a key to the end
 * slows down as the map grows: V8 rehashes it.)
 */
export class LruMap<V> {
  readonly #entries = new Map<string, Entry<V>>();
  #oldest: Entry<V> | undefined;
  #newest: Entry<V> | undefined;

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The value, without changing the order. */
  peek(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** The value, which becomes the most recently used. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#unlink(entry);
    this.#append(entry);
    return entry.value;
  }

  /** Sets the value as the most recently used. */
  set(key: string, value: V): void {
    const existing = this.#entries.get(key);
    if (existing) this.#unlink(existing);
    const entry: Entry<V> = existing ?? { key, value, older: undefined, newer: undefined };
    entry.value = value;
    this.#entries.set(key, entry);
    this.#append(entry);
  }

  delete(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#unlink(entry);
    this.#entries.delete(key);
    return entry.value;
  }

  /** The least recently used key. */
  oldest(): string | undefined {
    return this.#oldest?.key;
  }

  /** Keys and values, least recently used first. */
  *entries(): Generator<[string, V]> {
    for (let e = this.#oldest; e; e = e.newer) yield [e.key, e.value];
  }

  #unlink(entry: Entry<V>): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.#oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.#newest = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }

  #append(entry: Entry<V>): void {
    entry.older = this.#newest;
    if (this.#newest) this.#newest.newer = entry;
    else this.#oldest = entry;
    this.#newest = entry;
  }
}
