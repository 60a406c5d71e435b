import assert from "node:assert/strict";
import { test } from "node:test";
import { tempDir } from "@koine/testkit";
import fc from "fast-check";
import { open } from "lmdb";
import { listKeys, successor } from "./listing.ts";
import { Namespace } from "./namespace.ts";

/** S3 ListObjects by definition, over a sorted array: the reference. */
function reference(all: string[], prefix: string, delimiter: string, startAfter: string, maxKeys: number) {
  const sorted = [...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const key of sorted) {
    if (!key.startsWith(prefix) || Buffer.compare(Buffer.from(key), Buffer.from(startAfter)) <= 0) continue;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const item = cut >= 0 ? key.slice(0, cut + delimiter.length) : key;
    if (cut >= 0 && (seen.has(item) || startAfter.startsWith(item))) continue;
    seen.add(item);
    out.push(item);
  }
  return { page: out.slice(0, maxKeys), truncated: out.length > maxKeys };
}

const KEYS = [
  "a",
  "a-b",
  "a/b",
  "a/b/c",
  "a/c",
  "a/😀",
  "a/\uffff",
  "ab",
  "b/",
  "b/x",
  "b/y/z",
  "c/d/e/f",
  "dir/",
  "dir/sub/",
  "dir/sub/file",
  "x.txt",
  "x/y.txt",
  "é",
  "z",
];

test("listKeys() matches S3 order and paging for every prefix, delimiter and page size", async (t) => {
  const dir = await tempDir(t);
  const db = open({ path: dir });
  t.after(() => db.close());
  const ns = new Namespace(db);
  await ns.init({ id: "root", path: "/", uri: "file:///tmp", readOnly: false });
  await ns.mkdir("/bkt", {});
  const files = KEYS.filter((k) => !KEYS.some((other) => other.startsWith(`${k}/`)) || k.endsWith("/"));
  for (const key of files) {
    await ns.commitFile(`/bkt/${key}`, { contentId: "c", size: 0, etag: "e", ufsFingerprint: "f" }, 1, {}, true);
  }
  for (const prefix of ["", "a", "a/", "b/", "dir/", "dir/sub/", "c/d", "zz"]) {
    for (const delimiter of ["", "/", "-", "b"]) {
      for (const maxKeys of [1, 2, 1000]) {
        let startAfter = "";
        const got: string[] = [];
        for (let pages = 0; pages < 100; pages++) {
          const reply = listKeys(ns, { bucket: "bkt", prefix, delimiter, startAfter, maxKeys });
          const page = [...reply.keys.map((k) => k.key), ...reply.commonPrefixes].sort((a, b) =>
            Buffer.compare(Buffer.from(a), Buffer.from(b)),
          );
          const want = reference(files, prefix, delimiter, startAfter, maxKeys);
          assert.deepEqual(page, want.page, `prefix=${prefix} delimiter=${delimiter} after=${startAfter}`);
          assert.equal(reply.truncated, want.truncated);
          got.push(...page);
          if (!reply.truncated) break;
          startAfter = reply.last;
        }
        assert.deepEqual(got, reference(files, prefix, delimiter, "", 10000).page);
      }
    }
  }
});

test("listKeys() ends its LMDB read transactions: truncated pages between writes leave no reader slots taken", async (t) => {
  const dir = await tempDir(t);
  const db = open({ path: dir, maxReaders: 126 });
  t.after(() => db.close());
  const ns = new Namespace(db);
  await ns.init({ id: "root", path: "/", uri: "file:///tmp", readOnly: false });
  await ns.mkdir("/bkt", {});
  const data = { contentId: "c", size: 0, etag: "e", ufsFingerprint: "f" };
  for (let i = 0; i < 20; i++) await ns.commitFile(`/bkt/d${i % 4}/k${i}`, data, 1, {}, true);
  for (let i = 0; i < 300; i++) {
    listKeys(ns, { bucket: "bkt", prefix: "", delimiter: i % 2 ? "/" : "", startAfter: "", maxKeys: 3 });
    await ns.commitFile(`/bkt/x${i}`, data, 1, {}, true);
  }
  const readers = db
    .readerList()
    .split("\n")
    .filter((line) => /^\s*\d/.test(line));
  assert.ok(readers.length <= 2, `reader slots in use: ${readers.length}`);
});

test("listing - the successor of a prefix sorts after every key with that prefix, by UTF-8 bytes, to the last code point", () => {
  assert.equal(successor("a"), "b");
  assert.equal(successor("😀"), "😁");
  assert.equal(successor("x\u{1F7FF}"), "x\u{1F800}", "a low surrogate 0xDFFF is no end");
  assert.equal(successor("x\uD7FF"), "x\uE000", "surrogates are no characters");
  assert.equal(successor("a\u{10FFFF}"), "b");
  assert.equal(successor("\u{10FFFF}\u{10FFFF}"), undefined, "nothing sorts after");
  const bytes = (s: string) => Buffer.from(s);
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", minLength: 1 }), fc.string({ unit: "grapheme" }), (prefix, rest) => {
      const next = successor(prefix);
      if (next === undefined) return;
      assert.ok(Buffer.compare(bytes(prefix + rest), bytes(next)) < 0);
      assert.ok(!next.startsWith(prefix));
    }),
  );
});
