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

/** How many stats this process has asked metadata for (its clients and the cluster in it share one metrics registry). */
async function statsAsked(metricsUrl: string): Promise<number> {
  const line = (await (await fetch(metricsUrl)).text())
    .split("\n")
    .find((l) => l.startsWith("koine_nats_request_duration_seconds_count{") && l.includes('subject="koine.meta.stat"'));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

test("FileSystemClient - callers of a stat not cached share one request; a change while it is under way makes later callers ask anew", async (t) => {
  const cluster = await bootCluster(t);
  const nc = await connect({ servers: cluster.natsUrl, name: "test", auth: natsCredentials(cluster.clusterKey, "alluxio-admin") });
  const client = await FileSystemClient.open({ nc, clusterKey: cluster.clusterKey, statCacheMs: 60_000 });
  onCleanup(t, async () => {
    await client.close();
    await nc.close();
  });
  await client.mkdir("/shared");
  await client.writeFile("/shared/f", Readable.from([Buffer.from("one")]));
  client.forget("/shared/f");

  const before = await statsAsked(`${cluster.adminUrl}/metrics`);
  const answers = await Promise.all(Array.from({ length: 20 }, () => client.stat("/shared/f")));
  assert.deepEqual(new Set(answers.map((info) => info.size)), new Set([3]));
  assert.equal((await statsAsked(`${cluster.adminUrl}/metrics`)) - before, 1, "one request for 20 callers");

  // A change told while a stat is under way: a caller after it does not join the old request.
  client.forget("/shared/f");
  const early = client.stat("/shared/f");
  client.forget("/shared/f");
  const late = client.stat("/shared/f");
  await Promise.all([early, late]);
  assert.equal((await statsAsked(`${cluster.adminUrl}/metrics`)) - before, 3, "the caller after the change asked again");
});
