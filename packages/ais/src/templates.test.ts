import assert from "node:assert/strict";
import { test } from "node:test";
import { Template } from "./templates.ts";

test("brace ranges, steps, padding and several ranges", () => {
  const t = new Template("shard-{0000..0099}.tar");
  assert.equal(t.prefix, "shard-");
  assert.ok(t.matches("shard-0000.tar") && t.matches("shard-0099.tar"));
  assert.ok(!t.matches("shard-0100.tar") && !t.matches("shard-99.tar") && !t.matches("shard-0001.tarx"));
  const stepped = new Template("o{1..9..2}");
  assert.deepEqual(
    ["o1", "o2", "o3", "o9", "o01"].map((n) => stepped.matches(n)),
    [true, false, true, true, false],
  );
  const two = new Template("dir-{0..1}/obj-{07..08}");
  assert.deepEqual(
    ["dir-0/obj-07", "dir-1/obj-08", "dir-2/obj-07", "dir-1/obj-7"].map((n) => two.matches(n)),
    [true, true, false, false],
  );
});

test("the at form, prefixes, and bad ranges", () => {
  const at = new Template("pre-@100");
  assert.ok(at.matches("pre-000") && at.matches("pre-100") && !at.matches("pre-101") && !at.matches("pre-1"));
  const prefix = new Template("dir-10/");
  assert.ok(prefix.isPrefix && prefix.matches("dir-10/a") && !prefix.matches("dir-1/a"));
  assert.throws(() => new Template("a{5..1}"), /invalid range/);
  assert.throws(() => new Template("a{1..5..0}"), /invalid range/);
});
