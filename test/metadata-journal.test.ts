import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { connect, Journal, request } from "@koine/bus";
import { serveNamespace } from "@koine/namespace";
import { type FileInfo, JOURNAL_STREAM, JOURNAL_SUBJECT, Meta } from "@koine/protocol";
import { onCleanup, startNats, tempDir } from "@koine/testkit";

/**
 * The namespace's journal (issue 16): every change is stored on JetStream
 * before it is made, so the namespace survives the loss of metadata's LMDB.
 */

/** Everything the namespace holds, as a digest of every entry's every field (no under-store look-up). */
async function digestOf(nc: import("@koine/bus").NatsConnection): Promise<{ digest: string; count: number }> {
  const { entries } = await request(nc, Meta.list, { path: "/", recursive: true, loadMetadata: "NEVER" });
  const all: FileInfo[] = [await request(nc, Meta.stat, { path: "/", loadMetadata: "NEVER" }), ...entries];
  // Top-level directories are asked for on their own: their usage is only in a stat.
  for (const [i, e] of all.entries())
    if (e.path.split("/").length === 2) all[i] = await request(nc, Meta.stat, { path: e.path, loadMetadata: "NEVER" });
  const text = JSON.stringify(all.map((e) => Object.fromEntries(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : 1)))));
  return { digest: createHash("sha256").update(text).digest("hex"), count: all.length };
}

test("metadata journal - a metadata whose LMDB is lost rebuilds the namespace from the journal, every field alike; a restart replays nothing twice", async (t) => {
  const nats = await startNats(t);
  const home = await tempDir(t, "koine-journal-");
  const dataDir = join(home, "metadata");
  const clusterKey = randomBytes(32);
  const serve = () =>
    serveNamespace({ natsUrl: nats.url, dataDir, rootUfs: pathToFileURL(join(home, "ufs")).href, clusterKey, mountRoots: [tmpdir()] });
  let meta = await serve();
  const nc = await connect({ servers: nats.url, name: "journal-test" });
  onCleanup(t, async () => {
    await nc.drain();
    await meta.stop();
  });

  // Changes of every kind, many at once (they share journal records), and what only the namespace knows:
  // owners, modes, grants, quotas, bytes only in the cache, a mount.
  await request(nc, Meta.mkdir, { path: "/vol", owner: "bilbo", mode: 0o700 });
  await request(nc, Meta.setAttributes, {
    path: "/vol",
    attributes: { quotaBytes: 10_000_000, userMeta: { "ozone-created-by": "hdfs" } },
  });
  const writes = Array.from({ length: 60 }, (_, i) =>
    request(nc, Meta.commitFile, {
      path: `/vol/b${i % 3}/k${i}`,
      data: { contentId: `c${i}`, size: 1000 + i, etag: `e${i}`, ufsFingerprint: "" },
      blockSize: 1024,
      attributes: { owner: "bilbo", mode: 0o600 },
      createParents: true,
      persistence: "NOT_PERSISTED",
      cachedOn: ["node0"],
    }),
  );
  await Promise.all(writes);
  await request(nc, Meta.setAttributes, {
    path: "/vol/b0",
    attributes: { grants: [{ grantee: "user:frodo", permission: "READ", recursive: true }] },
  });
  await request(nc, Meta.rename, { src: "/vol/b1/k1", dst: "/vol/b2/renamed" });
  await request(nc, Meta.delete, { path: "/vol/b0/k3" });
  const mountDir = await tempDir(t, "koine-journal-mount-");
  await request(nc, Meta.mount, { path: "/mnt", uri: pathToFileURL(mountDir).href, readOnly: true });
  const refused = await request(nc, Meta.delete, { path: "/vol/nothing" }).catch((err: Error) => err.message);
  assert.match(String(refused), /no such file/, "a change that fails is journaled and fails again on replay, changing nothing");

  // Users and multipart uploads are journaled too (a secret sealed before it is journaled).
  await request(nc, Meta.putUser, { accessKey: "frodo", secretKey: "ring-bearer-secret", groups: ["fellowship"] });
  await request(nc, Meta.putUser, { accessKey: "gollum", secretKey: "precious-precious" });
  await request(nc, Meta.removeUser, { accessKey: "gollum" });
  const upload = await request(nc, Meta.createUpload, { path: "/vol/b0/big", owner: "bilbo", attributes: {} });
  const part = { partNumber: 2, etag: "e2", size: 5, mtimeMs: 1, ufsPath: `${upload.ufs.path}/2` };
  await request(nc, Meta.putPart, { uploadId: upload.uploadId, part });
  const others = async () => ({
    credentials: (await request(nc, Meta.credentials, {})).credentials,
    parts: await request(nc, Meta.listParts, { uploadId: upload.uploadId, after: 0, maxParts: 10 }),
  });
  const othersBefore = await others();
  assert.deepEqual(
    othersBefore.credentials.map((c) => c.accessKey),
    ["frodo"],
  );
  assert.deepEqual(othersBefore.parts.parts, [part]);

  const before = await digestOf(nc);
  const used = (await request(nc, Meta.stat, { path: "/vol" })).usedBytes;
  assert.equal(used, Array.from({ length: 60 }, (_, i) => 1000 + i).reduce((a, b) => a + b) - 1003, "usage after the delete");

  // A restart: LMDB is ahead of nothing; the journal adds nothing twice.
  await meta.stop();
  meta = await serve();
  assert.deepEqual(await digestOf(nc), before, "restarted");

  // LMDB lost: everything comes back from the journal alone, to the last field.
  await meta.stop();
  await rm(dataDir, { recursive: true, force: true });
  meta = await serve();
  const rebuilt = await digestOf(nc);
  assert.deepEqual(rebuilt, before, "rebuilt from the journal");
  assert.ok(before.count >= 64, `${before.count} entries`);
  assert.equal((await request(nc, Meta.stat, { path: "/vol" })).usedBytes, used, "usage and quota too");
  assert.deepEqual(await others(), othersBefore, "users (the same sealed secrets) and uploads too");
  assert.deepEqual((await request(nc, Meta.mounts, {})).mounts.map((m) => m.path).sort(), ["/", "/mnt"]);

  // The journal is appended by one writer: another that expects an older end is refused.
  const other = await Journal.open(nc, { stream: JOURNAL_STREAM, subject: JOURNAL_SUBJECT });
  await request(nc, Meta.mkdir, { path: "/later" });
  await assert.rejects(other.append(Buffer.from("[]")), /Cannot append to the journal/);
});
