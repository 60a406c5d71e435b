import assert from "node:assert/strict";
import { test } from "node:test";
import { LruMap } from "./lru.ts";

test("LruMap keeps least-recently-used order through get, set and delete", () => {
  const lru = new LruMap<number>();
  for (const k of ["a", "b", "c", "d"]) lru.set(k, k.charCodeAt(0));
  assert.equal(lru.get("a"), 97);
  lru.set("b", 1);
  assert.equal(lru.peek("c"), 99);
  assert.deepEqual(
    [...lru.entries()].map(([k]) => k),
    ["c", "d", "a", "b"],
  );
  assert.equal(lru.delete("c"), 99);
  assert.equal(lru.oldest(), "d");
  assert.equal(lru.delete("zz"), undefined);
  for (const k of ["d", "a", "b"]) lru.delete(k);
  assert.equal(lru.size, 0);
  assert.equal(lru.oldest(), undefined);
  lru.set("x", 1);
  assert.deepEqual([...lru.entries()], [["x", 1]]);
});
