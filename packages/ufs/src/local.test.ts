import assert from "node:assert/strict";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { test } from "node:test";
import { tempDir } from "@koine/testkit";
import { LocalUfs, type UfsError } from "./mod.ts";

test("LocalUfs writes atomically, reads ranges and checks fingerprints", async (t) => {
  const root = await tempDir(t);
  const ufs = new LocalUfs(root);
  const first = await ufs.write("/b/dir/k", Readable.from([Buffer.from("hello world")]));
  assert.equal(first.size, 11);
  assert.equal(await readFile(join(root, "b/dir/k"), "utf8"), "hello world");
  assert.equal(await text(await ufs.openRange("b/dir/k", 6, 5, first.fingerprint)), "world");

  await ufs.write("b/dir/k", Readable.from([Buffer.from("HELLO")]));
  await assert.rejects(ufs.openRange("b/dir/k", 0, 5, first.fingerprint), (e: UfsError) => e.code === "STALE");
  assert.deepEqual(
    (await ufs.list("b/dir")).map((e) => e.name),
    ["k"],
  );
});

test("LocalUfs keeps every path inside the root: '', '.' and '..' are names, symlinks out are refused", async (t) => {
  const root = await tempDir(t);
  const outside = await tempDir(t);
  await writeFile(join(outside, "secret"), "s");
  await mkdir(join(root, "b"));
  await symlink(outside, join(root, "b", "link"));
  await symlink(join(outside, "secret"), join(root, "b", "filelink"));
  const ufs = new LocalUfs(root);
  const stepped = {
    "../x": ".koine-dotdot/x",
    "b/../../x": "b/.koine-dotdot/.koine-dotdot/x",
    "b/./x": "b/.koine-dot/x",
    "b//x": "b/.koine-empty/x",
    "b/..": "b/.koine-file-.koine-dotdot",
  };
  for (const [path, stored] of Object.entries(stepped)) {
    await ufs.write(path, Readable.from([Buffer.from(path)]));
    assert.equal(await readFile(join(root, stored), "utf8"), path, path);
    assert.equal(await text(await ufs.openRange(path, 0, path.length)), path);
    assert.equal((await ufs.stat(path))?.size, path.length);
  }
  assert.deepEqual((await readdir(outside)).sort(), ["secret"]);
  assert.deepEqual((await ufs.list("b")).map((e) => `${e.name}:${e.type}`).sort(), [
    "..:directory",
    "..:file",
    ".:directory",
    ":directory",
    "filelink:file",
    "link:directory",
  ]);
  assert.deepEqual(
    (await ufs.list("b//")).map((e) => e.name),
    ["x"],
  );
  await ufs.delete("b/..");
  await ufs.delete("b/..", { recursive: true, directory: true });
  assert.equal(await ufs.stat("b/../../x"), undefined);
  await assert.rejects(ufs.openRange("b/link/secret", 0, 1), (e: UfsError) => e.code === "PERMISSION_DENIED");
  await assert.rejects(ufs.write("b/link/new", Readable.from([Buffer.from("x")])), (e: UfsError) => e.code === "PERMISSION_DENIED");
  await assert.rejects(ufs.openRange("b/filelink", 0, 1), (e: UfsError) => e.code === "INVALID_ARGUMENT");
});

test("LocalUfs stages a write beside its path until it is published or discarded", async (t) => {
  const root = await tempDir(t);
  const ufs = new LocalUfs(root);
  await ufs.write("b/k", Readable.from([Buffer.from("old")]));
  const staged = await ufs.stage("b/k", Readable.from([Buffer.from("new bytes")]));
  assert.equal(await readFile(join(root, "b/k"), "utf8"), "old", "a staged write does not show");
  assert.deepEqual(
    (await ufs.list("b")).map((e) => e.name),
    ["k"],
    "nor in listings",
  );
  const published = await ufs.publish(staged.stagedPath, "b/k");
  assert.equal(await readFile(join(root, "b/k"), "utf8"), "new bytes");
  assert.equal(published.status.fingerprint, staged.status.fingerprint, "the fingerprint taken when staged stays true");
  const dropped = await ufs.stage("b/k", Readable.from([Buffer.from("never")]));
  await ufs.discard(dropped.stagedPath);
  assert.deepEqual(await readdir(join(root, "b")), ["k"]);
  assert.equal(await readFile(join(root, "b/k"), "utf8"), "new bytes");
});
