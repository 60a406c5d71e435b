/**
 * 53-bit string hash (cyrb53): well mixed and fast, so that rendezvous
 * scores of one key on different nodes are independent.
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Places keys on nodes by rendezvous (highest random weight) hashing: each
 * node scores each key, the highest scores own it. Adding or removing one
 * of N nodes moves only the ~1/N of keys that node wins or held.
 */
export class Ring {
  readonly nodes: readonly string[];
  readonly #seeds: number[];

  constructor(nodes: Iterable<string>) {
    this.nodes = [...new Set(nodes)].sort();
    this.#seeds = this.nodes.map((n) => hash53(n));
  }

  /** The `replicas` nodes that own `key`, best first. */
  placementFor(key: string, replicas = 1): string[] {
    const n = this.nodes.length;
    if (n === 0) return [];
    if (replicas === 1) {
      let best = 0;
      let bestScore = -1;
      for (let i = 0; i < n; i++) {
        const score = hash53(key, this.#seeds[i]);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      return [this.nodes[best] as string];
    }
    return this.nodes
      .map((node, i) => ({ node, score: hash53(key, this.#seeds[i]) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, replicas)
      .map((s) => s.node);
  }

  /** Every node in preference order for `key`: owners first, then fallbacks. */
  preferenceFor(key: string): string[] {
    return this.placementFor(key, this.nodes.length);
  }
}
