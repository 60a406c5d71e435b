import assert from "node:assert/strict";
import { test } from "node:test";
import { PageCutter } from "./page_cutter.ts";

test("PageCutter cuts any chunking into whole pages and a last short one", () => {
  const bytes = Buffer.from(Array.from({ length: 25 }, (_, i) => i));
  for (const chunkSize of [1, 3, 10, 25]) {
    const cutter = new PageCutter(10);
    const pages: Buffer[] = [];
    for (let o = 0; o < bytes.length; o += chunkSize) pages.push(...cutter.push(bytes.subarray(o, o + chunkSize)));
    const last = cutter.finish();
    if (last) pages.push(last);
    assert.deepEqual(
      pages.map((p) => p.length),
      [10, 10, 5],
      `chunks of ${chunkSize}`,
    );
    assert.ok(Buffer.concat(pages).equals(bytes));
    const copy = Buffer.from(bytes);
    copy.fill(0);
    const cutter2 = new PageCutter(10);
    const [page] = cutter2.push(copy);
    copy.fill(7);
    assert.equal(page?.[0], 0, "pages are copies, not views of the chunk");
  }
  assert.equal(new PageCutter(4).finish(), undefined);
});

test("PageCutter's parts are views of the chunks, cut at the same places", () => {
  const bytes = Buffer.from(Array.from({ length: 25 }, (_, i) => i));
  const cutter = new PageCutter(10);
  const pages: Buffer[][] = [];
  for (let o = 0; o < bytes.length; o += 4) pages.push(...cutter.pushParts(bytes.subarray(o, o + 4)));
  const last = cutter.finishParts();
  if (last) pages.push(last);
  assert.deepEqual(
    pages.map((parts) => Buffer.concat(parts).length),
    [10, 10, 5],
  );
  assert.ok(Buffer.concat(pages.flat()).equals(bytes));
  assert.ok(
    pages.flat().every((part) => part.buffer === bytes.buffer),
    "views, not copies",
  );
  assert.equal(new PageCutter(4).finishParts(), undefined);
});

test("PageCutter passes a chunk that is a whole page and all of its memory on as it is; any other page is a copy", () => {
  const page = Buffer.allocUnsafeSlow(16).fill(3);
  const cutter = new PageCutter(16);
  assert.equal(cutter.push(page)[0]?.buffer, page.buffer, "a read of a page's size is not copied");
  const pooled = Buffer.from("0123456789abcdef"); // a view of Node's shared pool
  const [copied] = cutter.push(pooled);
  pooled.fill(0);
  assert.equal(copied?.toString(), "0123456789abcdef", "a view of other memory is copied");
});
