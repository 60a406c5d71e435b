import assert from "node:assert/strict";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { connect, request, startNatsServer } from "@koine/bus";
import { ServiceProcess } from "@koine/launcher";
import type { CrashPoint } from "@koine/namespace";
import { ErrorCode, KoineError, Meta } from "@koine/protocol";
import { freePorts, onCleanup, tempDir, waitFor } from "@koine/testkit";
import { LocalUfs } from "@koine/ufs";
import { leaderOf, replicaState } from "./metadata-replicas.ts";

/**
 * Intents (issue 16): a leader killed between the under-store side of a
 * change and its journal entry (or the other way round) leaves the next
 * leader to bring those paths in step: the namespace and the under-store
 * agree after the failover, before anyone syncs.
 */

test("metadata intents - a leader killed between a change's under-store side and its journal entry: after failover the namespace names what the under-store holds", async (t) => {
  const home = await tempDir(t, "koine-intents-");
  const [natsPort] = (await freePorts(1)) as [number];
  const nats = await startNatsServer({ storeDir: join(home, "nats"), port: natsPort });
  const ufsRoot = join(home, "ufs");
  // Never compared with the under-store by the lazy sync: only the intents can bring a path in step.
  const base = { KOINE_HOME: home, KOINE_NATS_URL: nats.url, KOINE_ROOT_UFS: pathToFileURL(ufsRoot).href, KOINE_UFS_SYNC_INTERVAL: "-1" };
  const crashing = new ServiceProcess("metadata", { ...base, KOINE_METADATA_DIR: join(home, "metadata-crashing") });
  const steady = new ServiceProcess("metadata", { ...base, KOINE_METADATA_DIR: join(home, "metadata-steady") });
  const nc = await connect({ servers: nats.url, name: "intents-test" });
  let finished = false;
  onCleanup(t, async () => {
    if (!finished)
      for (const r of [crashing, steady]) console.error(`--- ${r.env.KOINE_METADATA_DIR}:\n${r.output.split("\n").slice(-20).join("\n")}`);
    for (const r of [crashing, steady]) await r.kill9();
    await nc.close();
    await nats.stop();
  });
  await steady.start();
  const ufs = new LocalUfs(ufsRoot);

  /** Commits `bytes` at `path` as a cache node does: staged in the under-store, published by metadata. */
  const commit = async (path: string, bytes: string, options: { timeoutMs?: number } = {}) => {
    const staged = await ufs.stage(path, Readable.from([Buffer.from(bytes)]));
    const data = { contentId: `c-${bytes}`, size: bytes.length, etag: `e-${bytes}`, ufsFingerprint: staged.status.fingerprint };
    return request(
      nc,
      Meta.commitFile,
      { path, data: { ...data, mountId: "root", stagedPath: staged.stagedPath }, blockSize: 1024, attributes: {}, createParents: true },
      options,
    );
  };
  /** The namespace's entry at `path` as it is (no sync), and the under-store's file. */
  const sides = async (path: string) => {
    const inNamespace = await request(nc, Meta.stat, { path, loadMetadata: "NEVER" }).catch((err) => {
      if (err instanceof KoineError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    });
    const inUfs = await ufs.stat(path.slice(1)).catch(() => undefined);
    return { namespace: inNamespace?.ufsFingerprint, ufs: inUfs?.fingerprint };
  };
  /** Runs `change` on a leader that kills itself at `point`; resolves once the steady replica leads again. */
  const crashDuring = async (point: CrashPoint, change: () => Promise<unknown>) => {
    crashing.env.KOINE_METADATA_CRASH = point;
    await crashing.start();
    await steady.kill9();
    await waitFor("the crashing replica leads", async () => (await replicaState(crashing))?.leads === true, 15_000);
    await steady.start();
    await assert.rejects(change(), (err: KoineError) => err.code === ErrorCode.Timeout || err.code === ErrorCode.Unavailable);
    await waitFor("it crashed", async () => !crashing.running);
    assert.equal(await leaderOf([steady]), steady);
  };

  // A new version published in the under-store, its commit never journaled.
  await commit("/b/published", "version one");
  await crashDuring("after-ufs-publish", () => commit("/b/published", "version two!", { timeoutMs: 3_000 }));
  const published = await sides("/b/published");
  assert.equal(published.ufs, (await ufs.stat("b/published"))?.fingerprint);
  assert.equal((await ufs.stat("b/published"))?.size, "version two!".length, "the under-store holds the new version");
  assert.equal(published.namespace, published.ufs, "the namespace names the version the under-store holds");

  // A rename done in the under-store, never journaled.
  await commit("/b/renamed-from", "moved");
  await crashDuring("after-ufs-rename", () =>
    request(nc, Meta.rename, { src: "/b/renamed-from", dst: "/b/renamed-to" }, { timeoutMs: 3_000 }),
  );
  assert.deepEqual(await sides("/b/renamed-from"), { namespace: undefined, ufs: undefined }, "the old name is gone on both sides");
  const renamed = await sides("/b/renamed-to");
  assert.ok(renamed.ufs, "the under-store holds the new name");
  assert.equal(renamed.namespace, renamed.ufs, "the namespace holds the new name");

  // A delete journaled, never done in the under-store: the file is still there, and the namespace names it again.
  await commit("/b/deleted", "still here");
  await crashDuring("after-journal-delete", () => request(nc, Meta.delete, { path: "/b/deleted" }, { timeoutMs: 3_000 }));
  const deleted = await sides("/b/deleted");
  assert.ok(deleted.ufs, "the under-store still holds it");
  assert.equal(deleted.namespace, deleted.ufs, "the namespace names it again");

  // A versioned write: the current version moved aside and the new one published, nothing journaled. The next leader
  // puts the current version's bytes back where LMDB names them: the write was never acknowledged, its bytes give way.
  await request(nc, Meta.mkdir, { path: "/v" });
  await request(nc, Meta.setAttributes, { path: "/v", attributes: { versioning: "Enabled" } });
  await commit("/v/doc", "kept version");
  await crashDuring("after-ufs-publish", () => commit("/v/doc", "never acknowledged", { timeoutMs: 3_000 }));
  const versioned = await sides("/v/doc");
  assert.equal((await ufs.stat("v/doc"))?.size, "kept version".length, "the current version's bytes are back at its path");
  assert.equal(versioned.namespace, versioned.ufs, "the namespace names them");
  assert.equal(await ufs.stat(".koine-versions/c-kept version"), undefined, "nothing is left aside");
  const listed = await request(nc, Meta.listVersions, {
    bucket: "v",
    prefix: "",
    delimiter: "",
    keyMarker: "",
    versionIdMarker: "",
    maxKeys: 10,
  });
  assert.deepEqual(
    listed.versions.map((v) => [v.key, v.info.contentId, v.latest]),
    [["doc", "c-kept version", true]],
  );

  const resolved = steady.output.match(/left unfinished in step/g)?.length ?? 0;
  assert.ok(resolved >= 4, "the steady replica resolved each intent when it took over");
  finished = true;
});
