import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { test } from "node:test";
import { PageSealer } from "@koine/access";
import type { ReadRange } from "@koine/protocol";
import { type DataNode, LocalPageFiles, PageFileNode } from "./data_node.ts";

const PAGE = 1024;

async function bytesOf(read: Readable | Buffer): Promise<Buffer> {
  if (Buffer.isBuffer(read)) return read;
  const chunks: Buffer[] = [];
  for await (const chunk of read) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test("PageFileNode - pages on disk under a valid seal are read here; a missing or tampered page, and what follows it, come from the node", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "koine-pages-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const sealer = new PageSealer(randomBytes(32));
  const contentId = "0123456789abcdef";
  const file = randomBytes(PAGE * 3 + 100); // 4 pages, the last short
  const writePage = async (index: number, bytes = file.subarray(index * PAGE, (index + 1) * PAGE)) => {
    await mkdir(join(dir, contentId), { recursive: true });
    await writeFile(join(dir, contentId, String(index)), Buffer.concat([sealer.seal(`${contentId}/${index}`, bytes), bytes]));
  };
  // The node over HTTP, as far as this test needs it: the file's bytes, and what it was asked for.
  const asked: [number, number][] = [];
  const http = {
    async read(range: ReadRange) {
      asked.push([range.offset, range.length]);
      return file.subarray(range.offset, range.offset + range.length);
    },
  } as DataNode;
  const node = () => new PageFileNode(new LocalPageFiles({ dir, pageSize: PAGE }, sealer), http);
  const range = (offset: number, length: number): ReadRange => ({
    contentId,
    mountId: "m",
    path: "/f",
    fingerprint: "",
    fileSize: file.length,
    offset,
    length,
  });

  for (const index of [0, 1, 3]) await writePage(index);
  // Within one page, and across two: from the files alone.
  assert.deepEqual(await bytesOf(await node().read(range(10, 500))), file.subarray(10, 510));
  assert.deepEqual(await bytesOf(await node().read(range(PAGE - 7, 20))), file.subarray(PAGE - 7, PAGE + 13));
  assert.deepEqual(await bytesOf(await node().read(range(3 * PAGE, 100))), file.subarray(3 * PAGE));
  assert.deepEqual(asked, []);

  // Page 2 is missing: the node sends from there to the end of the range.
  assert.deepEqual(await bytesOf(await node().read(range(100, file.length - 100))), file.subarray(100));
  assert.deepEqual(asked, [[2 * PAGE, file.length - 2 * PAGE]]);

  // A page changed on disk (its seal no longer holds), and one cut short: both go to the node, never served.
  asked.length = 0;
  const changed = Buffer.from(file.subarray(0, PAGE));
  changed[5] = (changed[5] as number) ^ 1;
  await writeFile(join(dir, contentId, "0"), Buffer.concat([sealer.seal(`${contentId}/0`, file.subarray(0, PAGE)), changed]));
  assert.deepEqual(await bytesOf(await node().read(range(0, 10))), file.subarray(0, 10));
  await writePage(3, file.subarray(3 * PAGE, 3 * PAGE + 50));
  assert.deepEqual(await bytesOf(await node().read(range(3 * PAGE, 100))), file.subarray(3 * PAGE));
  assert.deepEqual(asked, [
    [0, 10],
    [3 * PAGE, 100],
  ]);
});
