import assert from "node:assert/strict";
import { test } from "node:test";
import { hrwTarget, idDigest, XxHash } from "./hrw.ts";

// Vectors of the wire reference (../shared/reference/wire/ais.md §1.2), from AIS's own algorithm.
test("id digests and owners are AIS's", () => {
  assert.equal(idDigest("t1"), 14214570646889990061n);
  assert.equal(idDigest("t2"), 17780131176456335389n);
  assert.equal(idDigest("t3"), 7900451649967436292n);
  assert.equal(hrwTarget(["t1", "t2", "t3"], "bck1", "obj1"), "t2");
  assert.equal(hrwTarget(["t3", "t1", "t2"], "bck1", "shard-0001.tar"), "t1");
  assert.equal(hrwTarget([], "b", "o"), undefined);
});

test("checksums are XXH64 with seed 0, 16 hex digits", () => {
  const h = new XxHash();
  h.update(Buffer.from("ab"));
  h.update(Buffer.from("c"));
  assert.equal(h.hex(), "44bc2cf5ad770999");
  assert.equal(new XxHash().hex(), "ef46db3751d8e999");
});
