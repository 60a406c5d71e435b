import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadClusterKey, seal, unseal } from "./seal.ts";

test("seal - a sealed secret opens with its key only, and shows nothing of the secret", () => {
  const dir = mkdtempSync(join(tmpdir(), "koine-key-"));
  const key = loadClusterKey(undefined, join(dir, "cluster.key"));
  assert.equal(statSync(join(dir, "cluster.key")).mode & 0o777, 0o600);
  assert.deepEqual(loadClusterKey(undefined, join(dir, "cluster.key")), key, "the same file, the same key");
  assert.deepEqual(loadClusterKey(readFileSync(join(dir, "cluster.key"), "utf8").trim(), "unused"), key);
  const sealed = seal(key, "wJalrXUtnFEMI/K7MDENG");
  assert.ok(!sealed.includes("wJalrXUtnFEMI"));
  assert.notEqual(seal(key, "wJalrXUtnFEMI/K7MDENG"), sealed, "a new nonce each time");
  assert.equal(unseal(key, sealed), "wJalrXUtnFEMI/K7MDENG");
  assert.throws(() => unseal(loadClusterKey(undefined, join(dir, "other.key")), sealed));
  assert.throws(() => loadClusterKey("short", "unused"), /32-byte/);
});
