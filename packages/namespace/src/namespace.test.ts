import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, type FileInfo, KoineError } from "@koine/protocol";
import { type TestContext, tempDir } from "@koine/testkit";
import { open } from "lmdb";
import { Namespace } from "./namespace.ts";

async function namespace(t: TestContext): Promise<Namespace> {
  const db = open({ path: await tempDir(t) });
  t.after(() => db.close());
  const ns = new Namespace(db);
  await ns.init({ id: "root", path: "/", uri: "file:///tmp", readOnly: false });
  return ns;
}

const written = (contentId: string, size = 3) => ({ contentId, size, etag: `etag-${contentId}`, ufsFingerprint: `fp-${contentId}` });

/** The error code `work` fails with, or "ok". */
async function outcome(work: () => Promise<unknown> | unknown): Promise<string> {
  try {
    await work();
    return "ok";
  } catch (err) {
    if (err instanceof KoineError) return err.code;
    throw err;
  }
}

test("namespace - commits make implicit parents, a new version replaces the old, deletes prune implicit parents only", async (t) => {
  const ns = await namespace(t);
  await ns.mkdir("/bkt", {});
  const first = await ns.commitFile("/bkt/a/b/file", written("c1"), 1024, {}, true);
  assert.equal(first.replaced, undefined);
  assert.equal(ns.stat("/bkt/a/b/file").contentId, "c1");
  assert.equal(ns.stat("/bkt/a").type, "directory");
  const second = await ns.commitFile("/bkt/a/b/file", written("c2", 5), 1024, {}, true);
  assert.equal(second.replaced?.contentId, "c1", "the version it replaced");
  assert.equal(ns.stat("/bkt/a/b/file").size, 5);
  assert.equal(ns.inodeCount(), 5, "root, bkt, a, b, file");

  const removal = await ns.delete("/bkt/a/b/file", { pruneImplicitParents: true });
  assert.deepEqual(removal.pruned, ["/bkt/a/b", "/bkt/a"], "implicit parents, deepest first");
  assert.equal(await outcome(() => ns.stat("/bkt/a")), ErrorCode.NotFound);
  assert.equal(ns.stat("/bkt").type, "directory", "an explicit directory stays");
});

test("namespace - what the tree refuses: a file under a file without parents made, a non-empty delete, parents that are missing, a rename onto a file; a file and a directory of one name", async (t) => {
  const ns = await namespace(t);
  await ns.mkdir("/bkt", {});
  await ns.commitFile("/bkt/f", written("c1"), 1024, {}, true);
  await ns.mkdir("/bkt/d", {});
  await ns.commitFile("/bkt/d/x", written("c2"), 1024, {}, true);
  assert.equal(await outcome(() => ns.commitFile("/bkt/f/under", written("c3"), 1024, {}, false)), ErrorCode.NotADirectory);
  // S3 keys "f" and "f/under": a directory made beside the file.
  await ns.commitFile("/bkt/f/under", written("c3"), 1024, {}, true);
  assert.equal(ns.stat("/bkt/f").contentId, "c1", "the file keeps the name");
  assert.equal(ns.stat("/bkt/f/").type, "directory");
  assert.equal(ns.stat("/bkt/f/under").contentId, "c3");
  assert.equal(await outcome(() => ns.mkdir("/bkt/f", {})), ErrorCode.AlreadyExists, "mkdir still refuses a file's name");
  assert.equal(await outcome(() => ns.delete("/bkt/d", {})), ErrorCode.NotEmpty);
  assert.equal(await outcome(() => ns.commitFile("/nope/x", written("c4"), 1024, {}, false)), ErrorCode.NotFound);
  assert.equal(await outcome(() => ns.mkdir("/bkt/d", { exclusive: true })), ErrorCode.AlreadyExists);

  const moved = await ns.rename("/bkt/d", "/bkt/e");
  assert.equal(moved.path, "/bkt/e");
  assert.equal(ns.stat("/bkt/e/x").contentId, "c2", "children move with their directory");
  assert.equal(await outcome(() => ns.stat("/bkt/d/x")), ErrorCode.NotFound);
  assert.notEqual(await outcome(() => ns.rename("/bkt/e", "/bkt/f")), "ok", "a directory onto a file");
});

test("namespace - any name: '', '.' and '..' are names like any, a folder object holds bytes, no bucket is so named", async (t) => {
  const ns = await namespace(t);
  await ns.mkdir("/bkt", {});
  // S3 keys "g/" with bytes, "a//b", "a/./b", "a/../b", "a//".
  await ns.commitFile("/bkt/g/", written("c5", 5), 1024, {}, true);
  assert.deepEqual(pick(ns.stat("/bkt/g/")), { type: "directory", contentId: "c5", size: 5, marker: true, path: "/bkt/g" });
  for (const [path, id] of [
    ["/bkt/a//b", "c6"],
    ["/bkt/a/./b", "c7"],
    ["/bkt/a/../b", "c8"],
    ["/bkt/a//", "c9"],
  ] as const) {
    await ns.commitFile(path, written(id), 1024, {}, true);
  }
  assert.equal(ns.stat("/bkt/a//b").contentId, "c6");
  assert.equal(ns.stat("/bkt/a/../b").contentId, "c8");
  assert.deepEqual(pick(ns.stat("/bkt/a//")), { type: "directory", contentId: "c9", size: 3, marker: true, path: "/bkt/a//" });
  const dirA = ns.get("/bkt/a");
  assert.deepEqual(
    [...ns.subtree(dirA, "/bkt/a")].map((item) => item.path),
    ["/bkt/a/../b", "/bkt/a/..", "/bkt/a/./b", "/bkt/a/.", "/bkt/a//b", "/bkt/a//", "/bkt/a"],
    "children in S3 key order, a directory named '' written with its trailing '/'",
  );
  const removal = await ns.delete("/bkt/a//b", { pruneImplicitParents: true });
  assert.deepEqual(removal.pruned, [], "the directory '' is also an object (a//): kept");
  await ns.delete("/bkt/a//", { recursive: true, pruneImplicitParents: true });
  assert.equal(await outcome(() => ns.stat("/bkt/a//")), ErrorCode.NotFound);
  const dots = await ns.delete("/bkt/a/./b", { pruneImplicitParents: true });
  assert.deepEqual(dots.pruned, ["/bkt/a/."]);
  for (const path of ["/../x", "/./x", "//x", "/.."]) {
    assert.equal(await outcome(() => ns.commitFile(path, written("c10"), 1024, {}, true)), ErrorCode.InvalidArgument, path);
  }
});

function pick(info: FileInfo) {
  return { type: info.type, contentId: info.contentId, size: info.size, marker: info.marker, path: info.path };
}

test("namespace - pins: pinned and unpersisted versions are held, found by content, and dropped when replaced", async (t) => {
  const ns = await namespace(t);
  await ns.mkdir("/bkt", {});
  await ns.commitFile("/bkt/cached", written("only-in-cache"), 1024, {}, true, { persistence: "TO_BE_PERSISTED", cachedOn: ["node0"] });
  assert.deepEqual(ns.pinnedContents(), ["only-in-cache"]);
  assert.deepEqual(ns.waitingToPersist(), ["only-in-cache"]);
  assert.equal(ns.holderOf("only-in-cache")?.contentId, "only-in-cache");
  assert.deepEqual(ns.takePinChanges(), [{ contentId: "only-in-cache", pinned: true }]);

  await ns.commitFile("/bkt/cached", written("persisted"), 1024, {}, true);
  assert.deepEqual(ns.pinnedContents(), []);
  assert.deepEqual(ns.waitingToPersist(), []);
  assert.equal(ns.holderOf("only-in-cache"), undefined);
  assert.deepEqual(ns.takePinChanges(), [{ contentId: "only-in-cache", pinned: false }]);
});

test("namespace - times to live run out from creation", async (t) => {
  const ns = await namespace(t);
  await ns.mkdir("/bkt", {});
  await ns.commitFile("/bkt/short", written("c1"), 1024, { ttlMs: 1000 }, true);
  await ns.commitFile("/bkt/long", written("c2"), 1024, { ttlMs: 3_600_000 }, true);
  const created = ns.stat("/bkt/short").createdMs;
  assert.deepEqual(ns.expired(created + 500), []);
  assert.deepEqual(
    ns.expired(created + 1500).map((i) => i.contentId),
    ["c1"],
  );
});

test("namespace - a top-level directory's usage follows writes, overwrites, deletes and renames; its quota refuses what would pass it", async (t) => {
  const ns = await namespace(t);
  await ns.mkdir("/vol", {});
  await ns.mkdir("/other", {});
  const used = (top: string) => ns.stat(top).usedBytes;
  await ns.commitFile("/vol/b/k1", written("c1", 100), 1024, {}, true);
  await ns.commitFile("/vol/b/deep/k2", written("c2", 50), 1024, {}, true);
  assert.equal(used("/vol"), 150);
  await ns.commitFile("/vol/b/k1", written("c3", 30), 1024, {}, true);
  assert.equal(used("/vol"), 80, "an overwrite counts its new size only");
  await ns.rename("/vol/b/deep", "/other/deep");
  assert.deepEqual([used("/vol"), used("/other")], [30, 50], "a directory's bytes move with it");
  await ns.delete("/vol/b", { recursive: true });
  assert.equal(used("/vol"), 0);

  await ns.setAttributes("/vol", { quotaBytes: 100 });
  assert.equal(ns.stat("/vol").quotaBytes, 100);
  assert.equal(await outcome(() => ns.checkQuota("/vol/x", 100)), "ok", "up to the quota");
  assert.equal(await outcome(() => ns.checkQuota("/vol/x", 101)), ErrorCode.QuotaExceeded);
  const hold = ns.hold("/vol/y", 50);
  assert.equal(await outcome(() => ns.checkQuota("/vol/x", 60)), ErrorCode.QuotaExceeded, "bytes other writes hold count");
  assert.equal(await outcome(() => ns.hold("/vol/x", 60)), ErrorCode.QuotaExceeded, "and refuse a hold");
  await ns.commitFile("/vol/y", written("c5", 50), 1024, {}, true);
  assert.equal(hold.released, true, "the commit lets its hold go");
  assert.equal(used("/vol"), 50);
  assert.equal(await outcome(() => ns.checkQuota("/vol/x", 50)), "ok", "counted once");
  await ns.delete("/vol/y", {});
  await ns.commitFile("/vol/k", written("c4", 60), 1024, {}, true);
  assert.equal(await outcome(() => ns.rename("/other/deep", "/vol/deep")), ErrorCode.QuotaExceeded, "a rename into it counts too");
  assert.equal(used("/other"), 50, "nothing moved");
  assert.equal(await outcome(() => ns.setAttributes("/vol/k", { quotaBytes: 1 })), ErrorCode.InvalidArgument, "only top-level directories");
  await ns.setAttributes("/vol", { quotaBytes: null });
  assert.equal(ns.stat("/vol").quotaBytes, undefined);
  assert.equal(await outcome(() => ns.rename("/other/deep", "/vol/deep")), "ok");
  assert.deepEqual([used("/vol"), used("/other")], [110, 0]);
});
