import xxhash from "xxhash-wasm";

/** AIS's xxhash seed for names (cos.MLCG32). */
const MLCG32 = 1103515245n;
const MASK = (1n << 64n) - 1n;

const hasher = await xxhash();

/** AIS's "xxhash"/"xxhash2" checksum of a stream: XXH64, seed 0, as 16 lower-case hex digits. */
export class XxHash {
  readonly #state = hasher.create64(0n);

  update(chunk: Uint8Array): void {
    this.#state.update(chunk);
  }

  hex(): string {
    return this.#state.digest().toString(16).padStart(16, "0");
  }
}

/** A node's id digest, published in the cluster map as `id_digest`. */
export function idDigest(id: string): bigint {
  return hasher.h64(id, MLCG32);
}

/** xoshiro256's splitmix-style finalizer, as AIS scores a node for a name (cmn/xoshiro256). */
function mix(seed: bigint): bigint {
  let z = (seed + 0x9e3779b97f4a7c15n) & MASK;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  z = ((z ^ (z >> 31n)) + 0x9e3779b97f4a7c15n) & MASK;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  z = ((z ^ (z >> 31n)) * 5n) & MASK;
  const rotated = ((z << 7n) | (z >> 57n)) & MASK;
  return (rotated * 9n) & MASK;
}

/**
 * The target AIS's highest-random-weight choice gives an object (the one
 * the SDK's `get_reader(direct=True)` computes): `ids` are the targets'
 * ids, the name is `ais/@#/<bucket>/<object>`.
 */
export function hrwTarget(ids: readonly string[], bucket: string, object: string, provider = "ais"): string | undefined {
  const digest = hasher.h64(`${provider}/@#/${bucket}/${object}`, MLCG32);
  let best: string | undefined;
  let bestWeight = -1n;
  for (const id of ids) {
    const weight = mix(idDigest(id) ^ digest);
    if (weight > bestWeight) {
      best = id;
      bestWeight = weight;
    }
  }
  return best;
}
