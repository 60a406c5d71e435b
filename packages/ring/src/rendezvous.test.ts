import assert from "node:assert/strict";
import { test } from "node:test";
import { Ring } from "./mod.ts";

const keys = Array.from({ length: 20000 }, (_, i) => `content-${i}:${i % 7}`);

test("Ring spreads keys evenly over nodes", () => {
  const ring = new Ring(["a", "b", "c", "d"]);
  const counts = new Map<string, number>();
  for (const k of keys) {
    const [owner] = ring.placementFor(k);
    counts.set(owner as string, (counts.get(owner as string) ?? 0) + 1);
  }
  for (const n of ring.nodes) {
    const share = (counts.get(n) ?? 0) / keys.length;
    assert.ok(share > 0.22 && share < 0.28, `${n} got ${share}`);
  }
});

test("Ring moves about 1/N of keys when a node joins or leaves", () => {
  const four = new Ring(["a", "b", "c", "d"]);
  const five = new Ring(["a", "b", "c", "d", "e"]);
  let moved = 0;
  for (const k of keys) {
    const before = four.placementFor(k)[0];
    const after = five.placementFor(k)[0];
    if (before !== after) {
      moved++;
      assert.equal(after, "e", "a key moves only to the new node");
    }
  }
  const share = moved / keys.length;
  assert.ok(share > 0.17 && share < 0.23, `moved ${share}`);
});

test("Ring replicas are distinct and start with the owner", () => {
  const ring = new Ring(["a", "b", "c"]);
  for (const k of keys.slice(0, 100)) {
    const r = ring.placementFor(k, 2);
    assert.equal(r.length, 2);
    assert.notEqual(r[0], r[1]);
    assert.equal(r[0], ring.placementFor(k)[0]);
  }
  assert.deepEqual(new Ring([]).placementFor("x"), []);
});
