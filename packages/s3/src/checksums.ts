import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import type { ChecksumType } from "@koine/protocol";
import { crc32c } from "@node-rs/crc32";
import { s3Error } from "./errors.ts";

/** The additional checksums S3 takes and answers with (`x-amz-checksum-<algorithm>`), in lower case. */
export const CHECKSUM_ALGORITHMS = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

/** The algorithm named, or NotImplemented/InvalidRequest as S3 answers an unknown one. */
export function checksumAlgorithm(name: string): ChecksumAlgorithm {
  const lower = name.toLowerCase();
  if (isChecksumAlgorithm(lower)) return lower;
  throw s3Error(
    "InvalidRequest",
    `Checksum algorithm ${name.toUpperCase()} is not supported; use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256`,
  );
}

/** A checksum being computed over a stream: base64 of its big-endian bytes, as S3 writes it. */
export interface RunningChecksum {
  readonly algorithm: ChecksumAlgorithm;
  update(data: Uint8Array): void;
  digest(): Promise<string>;
}

function crc32Checksum(algorithm: "crc32" | "crc32c", step: (data: Uint8Array, previous: number) => number): RunningChecksum {
  let value = 0;
  return {
    algorithm,
    update: (d) => {
      // zlib's crc32 of no data pointer is its start value, 0 (Node passes none for a buffer with no memory).
      if (d.length > 0) value = step(d, value);
    },
    digest: async () => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(value >>> 0);
      return b.toString("base64");
    },
  };
}

export function startChecksum(algorithm: ChecksumAlgorithm): RunningChecksum {
  switch (algorithm) {
    case "crc32":
      return crc32Checksum(algorithm, (d, v) => crc32(d, v));
    case "crc32c":
      return crc32Checksum(algorithm, (d, v) => crc32c(Buffer.from(d.buffer, d.byteOffset, d.byteLength), v));
    case "crc64nvme": {
      const crc = new Crc64Nvme();
      let digest: Promise<string> | undefined;
      return {
        algorithm,
        update: (d) => crc.update(d),
        digest: () => (digest ??= crc.digest().then((bytes) => Buffer.from(bytes).toString("base64"))),
      };
    }
    case "sha1":
    case "sha256": {
      const hash = createHash(algorithm);
      let digest: string | undefined;
      return { algorithm, update: (d) => hash.update(d), digest: async () => (digest ??= hash.digest("base64")) };
    }
  }
}

/**
 * `source` passed through with its checksum taken on the way: `checksums`
 * holds it (algorithm → base64) once the stream has ended, and nothing
 * without an algorithm.
 */
export function checksummed(
  source: AsyncIterable<Uint8Array>,
  algorithm: ChecksumAlgorithm | undefined,
): { body: AsyncIterable<Uint8Array>; checksums: Record<string, string> } {
  const checksums: Record<string, string> = {};
  if (!algorithm) return { body: source, checksums };
  const sum = startChecksum(algorithm);
  async function* body() {
    for await (const chunk of source) {
      sum.update(chunk);
      yield chunk;
    }
    checksums[sum.algorithm] = await sum.digest();
  }
  return { body: body(), checksums };
}

/** Which checksum types an algorithm has for a multipart object (S3: CRC64NVME only whole-object, SHAs only composite). */
export function checksumTypesOf(algorithm: ChecksumAlgorithm): readonly ChecksumType[] {
  if (algorithm === "crc64nvme") return ["FULL_OBJECT"];
  if (algorithm === "sha1" || algorithm === "sha256") return ["COMPOSITE"];
  return ["COMPOSITE", "FULL_OBJECT"];
}

/** The reflected CRCs S3 uses: width and reflected polynomial (all start and end inverted). */
const CRCS: Partial<Record<ChecksumAlgorithm, { width: number; poly: bigint }>> = {
  crc32: { width: 32, poly: 0xedb88320n },
  crc32c: { width: 32, poly: 0x82f63b78n },
  crc64nvme: { width: 64, poly: 0x9a6c9329ac4bc9b5n },
};

/** a·b modulo the CRC's polynomial, in the reflected representation (x^0 is the top bit). */
function multModP(a: bigint, b: bigint, width: number, poly: bigint): bigint {
  let m = 1n << BigInt(width - 1);
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) return p;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
  }
}

/** x^(2^k) modulo each CRC's polynomial, k = 0..63. */
const powerTables = new Map<ChecksumAlgorithm, bigint[]>();

function powersOf(algorithm: ChecksumAlgorithm, width: number, poly: bigint): bigint[] {
  let table = powerTables.get(algorithm);
  if (!table) {
    table = [1n << BigInt(width - 2)];
    for (let k = 1; k < 64; k++) table.push(multModP(table[k - 1] as bigint, table[k - 1] as bigint, width, poly));
    powerTables.set(algorithm, table);
  }
  return table;
}

function toBigInt(base64: string): bigint {
  return BigInt(`0x${Buffer.from(base64, "base64").toString("hex") || "0"}`);
}

function fromBigInt(value: bigint, width: number): string {
  return Buffer.from(value.toString(16).padStart(width / 4, "0"), "hex").toString("base64");
}

/**
 * The CRC of a whole object from its parts' CRCs and sizes (zlib's
 * crc32_combine, for any reflected CRC): S3's FULL_OBJECT checksum of a
 * multipart upload, without reading the bytes again.
 */
export function combineCrcs(algorithm: ChecksumAlgorithm, parts: readonly { checksum: string; size: number }[]): string {
  const crc = CRCS[algorithm];
  if (!crc) throw new Error(`${algorithm} is not a CRC`);
  const powers = powersOf(algorithm, crc.width, crc.poly);
  // x^(8·size) for each size met (the parts of an upload are mostly of one size).
  const shifts = new Map<number, bigint>();
  const shiftOf = (size: number): bigint => {
    let shift = shifts.get(size);
    if (shift === undefined) {
      shift = 1n << BigInt(crc.width - 1);
      let n = BigInt(size);
      for (let k = 3; n > 0n; k++, n >>= 1n) if (n & 1n) shift = multModP(powers[k] as bigint, shift, crc.width, crc.poly);
      shifts.set(size, shift);
    }
    return shift;
  };
  let value = 0n;
  // value · x^(8·size), then the part's CRC.
  for (const part of parts) value = multModP(shiftOf(part.size), value, crc.width, crc.poly) ^ toBigInt(part.checksum);
  return fromBigInt(value, crc.width);
}

/** S3's COMPOSITE checksum: the algorithm over the parts' raw checksums, then "-<parts>". */
export async function compositeChecksum(algorithm: ChecksumAlgorithm, partChecksums: readonly string[]): Promise<string> {
  const sum = startChecksum(algorithm);
  for (const part of partChecksums) sum.update(Buffer.from(part, "base64"));
  return `${await sum.digest()}-${partChecksums.length}`;
}
