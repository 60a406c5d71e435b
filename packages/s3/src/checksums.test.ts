import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { type CHECKSUM_ALGORITHMS, combineCrcs, compositeChecksum, startChecksum } from "./checksums.ts";

async function checksumOf(algorithm: (typeof CHECKSUM_ALGORITHMS)[number], ...pieces: Buffer[]): Promise<string> {
  const sum = startChecksum(algorithm);
  for (const piece of pieces) sum.update(piece);
  return sum.digest();
}

test("each algorithm gives its catalogue check value for 123456789", async () => {
  const check = Buffer.from("123456789");
  const hex = async (a: (typeof CHECKSUM_ALGORITHMS)[number]) => Buffer.from(await checksumOf(a, check), "base64").toString("hex");
  assert.equal(await hex("crc32"), "cbf43926");
  assert.equal(await hex("crc32c"), "e3069283");
  assert.equal(await hex("crc64nvme"), "ae8b14860a799888");
  assert.equal(await hex("sha1"), "f7c3bc1d808e04732adf679965ccc34ca7ae3441");
});

test("CRCs of parts combine into the CRC of the whole, whatever the part sizes", async () => {
  for (const algorithm of ["crc32", "crc32c", "crc64nvme"] as const) {
    for (const sizes of [[0], [1, 0, 3], [5, 70_000, 1], [1 << 20, 17, 4096]]) {
      const parts = sizes.map((n) => randomBytes(n));
      const whole = await checksumOf(algorithm, ...parts);
      const combined = combineCrcs(
        algorithm,
        await Promise.all(parts.map(async (p) => ({ checksum: await checksumOf(algorithm, p), size: p.length }))),
      );
      assert.equal(combined, whole, `${algorithm} over parts of ${sizes.join(", ")}`);
    }
  }
});

test("a composite checksum is the checksum of the parts' raw checksums, with their count", async () => {
  const parts = [Buffer.from("a"), Buffer.from("bc")];
  const partSums = await Promise.all(parts.map((p) => checksumOf("sha256", p)));
  const expected = await checksumOf("sha256", ...partSums.map((s) => Buffer.from(s, "base64")));
  assert.equal(await compositeChecksum("sha256", partSums), `${expected}-2`);
});
