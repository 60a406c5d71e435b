import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { test } from "node:test";
import { natsCredentials } from "@koine/access";
import { connect } from "@koine/bus";
import { FileSystemClient } from "@koine/client";
import { bootCluster } from "@koine/launcher";
import { ErrorCode, type KoineError } from "@koine/protocol";
import { onCleanup } from "@koine/testkit";

async function textOf(bytes: Readable | Buffer): Promise<string> {
  return Buffer.isBuffer(bytes) ? bytes.toString() : text(bytes);
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`never: ${what}`);
}

test("FileSystemClient - a stat cached by one front-end is dropped when another changes the file or its tree", async (t) => {
  const cluster = await bootCluster(t);
  const open = async () => {
    const nc = await connect({ servers: cluster.natsUrl, name: "test", auth: natsCredentials(cluster.clusterKey, "alluxio-admin") });
    const client = await FileSystemClient.open({ nc, clusterKey: cluster.clusterKey, statCacheMs: 60_000 });
    onCleanup(t, async () => {
      await client.close();
      await nc.close();
    });
    return client;
  };
  const [a, b] = [await open(), await open()];
  await a.mkdir("/bkt");
  await a.writeFile("/bkt/dir/file", Readable.from([Buffer.from("one")]));
  const first = await a.stat("/bkt/dir/file");
  assert.equal(await textOf(await a.read(first)), "one");

  await b.writeFile("/bkt/dir/file", Readable.from([Buffer.from("two!")]));
  await eventually(async () => (await a.stat("/bkt/dir/file")).size === 4, "a sees b's overwrite");

  await b.rename("/bkt/dir", "/bkt/moved");
  await eventually(
    () =>
      a.stat("/bkt/dir/file").then(
        () => false,
        (e: KoineError) => e.code === ErrorCode.NotFound,
      ),
    "a sees the directory moved away",
  );
  const moved = await a.stat("/bkt/moved/file");
  assert.equal(await textOf(await a.read(moved)), "two!");
});
