import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DATA_SIGNATURE_HEADER, DataRequestSigner, natsCredentials } from "@koine/access";
import { connect, request } from "@koine/bus";
import { bootCluster } from "@koine/launcher";
import { cacheNode } from "@koine/protocol";
import { s3Client } from "@koine/testkit/clients";

const MiB = 1024 * 1024;

async function get(s3: S3Client, Bucket: string, Key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await (got.Body?.transformToByteArray() ?? []));
}

test("cache - a cold read comes from the UFS, the next from the cache, a corrupt page from the UFS again", async (t) => {
  // No memory tier: every warm read checks the page on disk.
  const cluster = await bootCluster(t, { cacheMemoryBytes: 0 });
  const s3 = s3Client(cluster.s3Url);
  const nc = await connect({ servers: cluster.natsUrl, name: "test", auth: natsCredentials(cluster.clusterKey, "alluxio-admin") });
  t.after(async () => {
    s3.destroy();
    await nc.close();
  });
  const control = cacheNode("node0");
  const stats = () => request(nc, control.stats, {});

  await s3.send(new CreateBucket("cache"));
  const body = randomBytes(3 * MiB + 123);
  await s3.send(new PutObjectCommand({ Bucket: "cache", Key: "obj", Body: body }));
  const freed = await request(nc, control.free, {});
  assert.equal(freed.freedPages, 4, "the write kept its 4 pages");

  const cold = await stats();
  assert.ok((await get(s3, "cache", "obj")).equals(body));
  const afterCold = await stats();
  assert.equal(afterCold.misses - cold.misses, 4, JSON.stringify({ freed, cold, afterCold }));
  assert.equal(afterCold.ufsReadBytes - cold.ufsReadBytes, body.length);

  assert.ok((await get(s3, "cache", "obj")).equals(body));
  const warm = await stats();
  assert.equal(warm.hits - afterCold.hits, 4);
  assert.equal(warm.ufsReadBytes, afterCold.ufsReadBytes, "a warm read does not touch the UFS");

  const pagesDir = join(cluster.home, "cache", "node0");
  const [content] = (await readdir(pagesDir)).filter((n) => !n.startsWith("."));
  const page = join(pagesDir, content as string, "1");
  const raw = await readFile(page);
  raw[100] = (raw[100] as number) ^ 0xff;
  await writeFile(page, raw);

  assert.ok((await get(s3, "cache", "obj")).equals(body), "the corrupt page is never served");
  const healed = await stats();
  assert.equal(healed.corruptPages, 1);
  assert.equal(healed.ufsReadBytes - warm.ufsReadBytes, MiB, "only the corrupt page came from the UFS");
  assert.ok((await get(s3, "cache", "obj")).equals(body));
  assert.equal((await stats()).ufsReadBytes, healed.ufsReadBytes, "the page was stored again");
});

test("cache - concurrent cold reads of one object make one read of the UFS", async (t) => {
  const cluster = await bootCluster(t, { cacheMemoryBytes: 0 });
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  await s3.send(new CreateBucket("together"));
  const body = randomBytes(6 * MiB);
  await s3.send(new PutObjectCommand({ Bucket: "together", Key: "obj", Body: body }));
  await node.engine.store.free();
  const before = node.stats();
  const reads = await Promise.all(Array.from({ length: 8 }, () => get(s3, "together", "obj")));
  for (const r of reads) assert.ok(r.equals(body));
  const after = node.stats();
  assert.equal(after.ufsReadBytes - before.ufsReadBytes, body.length, "each byte came from the UFS once");
  assert.equal(after.misses - before.misses, 6);
  assert.equal(after.hits - before.hits, 7 * 6, "the other seven readers joined");
});

test("cache - stays under its capacity by evicting the least recently used pages", async (t) => {
  const cluster = await bootCluster(t, { cacheCapacityBytes: 5 * MiB });
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  await s3.send(new CreateBucket("lru"));
  const bodies = Array.from({ length: 6 }, () => randomBytes(2 * MiB));
  for (const [i, Body] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: "lru", Key: `k${i}`, Body }));
  const node = cluster.cacheNodes[0];
  assert.ok(node);
  const stats = node.stats();
  assert.ok(stats.usedBytes <= 5 * MiB, `used ${stats.usedBytes}`);
  assert.ok(stats.evictedPages >= 7, `evicted ${stats.evictedPages}`);
  for (const [i, body] of bodies.entries()) assert.ok((await get(s3, "lru", `k${i}`)).equals(body));
  assert.ok(node.stats().usedBytes <= 5 * MiB);
});

test("cache - two nodes share the blocks; with one killed every object is still served", async (t) => {
  const cluster = await bootCluster(t, { cacheNodes: 2, remoteCacheNodes: true, blockSize: MiB });
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  await s3.send(new CreateBucket("pair"));
  const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(3 * MiB + i));
  for (const [i, Body] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: "pair", Key: `k${i}`, Body }));
  for (const [i, body] of bodies.entries()) assert.ok((await get(s3, "pair", `k${i}`)).equals(body));
  const [a, b] = cluster.cacheNodes;
  assert.ok(a && b);
  const share = a.stats().pages / (a.stats().pages + b.stats().pages);
  assert.ok(share > 0.2 && share < 0.8, `node0 holds ${share} of the pages`);
  assert.ok(b.stats().hits + b.stats().misses > 0, "node1 served reads");

  await b.abort();
  for (const [i, body] of bodies.entries()) assert.ok((await get(s3, "pair", `k${i}`)).equals(body), `k${i} after node1 died`);
  const body = randomBytes(2 * MiB);
  await s3.send(new PutObjectCommand({ Bucket: "pair", Key: "after", Body: body }));
  assert.ok((await get(s3, "pair", "after")).equals(body));
});

class CreateBucket extends (await import("@aws-sdk/client-s3")).CreateBucketCommand {
  constructor(Bucket: string) {
    super({ Bucket });
  }
}

type RequestBody = NonNullable<RequestInit["body"]>;

test("cache - the data endpoint answers absurd requests with a 400 at once and stores nothing", async (t) => {
  const cluster = await bootCluster(t, { remoteCacheNodes: true });
  const node = cluster.cacheNodes[0] as (typeof cluster.cacheNodes)[number];
  const contentId = "0123456789abcdef";
  // Signed as a koine service would: what is absurd in them must still be refused.
  const signer = new DataRequestSigner(cluster.clusterKey);
  const ask = async (method: string, path: string, body?: RequestBody) => {
    const res = await fetch(node.url + path, {
      method,
      headers: { [DATA_SIGNATURE_HEADER]: signer.sign(method, path) },
      ...(body ? { body, duplex: "half" } : {}),
      signal: AbortSignal.timeout(5000),
    } as RequestInit);
    return `${res.status} ${((await res.json()) as { code: string }).code}`;
  };
  const read = (query: string) => `/data?contentId=${contentId}&mountId=root&path=/x&fingerprint=f&${query}`;
  const cases: [string, string, RequestBody?][] = [
    ["PUT", `/block?contentId=${contentId}&blockSize=1&blockIndex=0`, Buffer.alloc(4096)],
    ["PUT", `/block?contentId=${contentId}&blockSize=1000&blockIndex=1`, Buffer.alloc(10)],
    ["PUT", `/block?contentId=${contentId}&blockSize=1048576&blockIndex=${2 ** 53}`, Buffer.alloc(4096)],
    ["PUT", `/block?contentId=${contentId}&blockSize=1048576&blockIndex=${2 ** 31}`, Buffer.alloc(4096)],
    ["PUT", `/block?contentId=${contentId}&blockSize=1048576&blockIndex=0`, Buffer.alloc(2 * 1048576)],
    ["PUT", `/block?contentId=${contentId}&blockSize=1e400&blockIndex=0`, Buffer.alloc(1)],
    ["PUT", `/data?contentId=${contentId}&mountId=root&path=/x&blockSize=-5&stage=true`, Buffer.alloc(1)],
    ["GET", read("fileSize=1e300&offset=1e299&length=10")],
    ["GET", read(`fileSize=${2 ** 53 + 1}&offset=${2 ** 53 - 1000}&length=10`)],
    ["GET", read("fileSize=100&offset=-1&length=10")],
    ["GET", read("fileSize=100&offset=50&length=51")],
    ["GET", read("fileSize=abc&offset=0&length=1")],
    ["GET", read("fileSize=4&offset=0&length=1.5")],
    ["GET", read("fileSize=4&offset=0x1&length=1")],
  ];
  for (const [method, path, body] of cases) assert.equal(await ask(method, path, body), "400 INVALID_ARGUMENT", `${method} ${path}`);
  // A body larger than its block that does not say so up front is refused where it overflows.
  const chunked = async function* () {
    for (let i = 0; i < 3; i++) yield Buffer.alloc(1048576);
  };
  assert.equal(
    await ask("PUT", `/block?contentId=${contentId}&blockSize=1048576&blockIndex=0`, Readable.from(chunked()) as unknown as RequestBody),
    "400 INVALID_ARGUMENT",
  );
  assert.equal(node.stats().pages, 0, "no page stored");
});

test("cache - the data port takes only requests signed with the cluster key; pages planted on disk or through the port are never served", async (t) => {
  // No memory tier: every read of a page checks it on disk.
  const cluster = await bootCluster(t, { cacheMemoryBytes: 0, remoteCacheNodes: true });
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const node = cluster.cacheNodes[0] as (typeof cluster.cacheNodes)[number];
  await s3.send(new CreateBucket("planted"));
  const body = randomBytes(2 * MiB + 7);
  await s3.send(new PutObjectCommand({ Bucket: "planted", Key: "obj", Body: body }));
  assert.ok((await get(s3, "planted", "obj")).equals(body));
  const pagesDir = join(cluster.home, "cache", "node0");
  const [contentId] = (await readdir(pagesDir)).filter((n) => !n.startsWith("."));
  assert.ok(contentId);
  const pagesBefore = node.stats().pages;

  const evil = Buffer.alloc(MiB, "e");
  const read = `/data?contentId=${contentId}&mountId=root&path=/planted/obj&fingerprint=f&fileSize=${body.length}&offset=0&length=10`;
  const block = `/block?contentId=${contentId}&blockSize=${4 * MiB}&blockIndex=0`;
  const write = "/data?contentId=feedfacefeedface&mountId=root&path=/planted/evil&blockSize=1048576&stage=false";
  const forged = new DataRequestSigner(randomBytes(32));
  const attempts: [string, string, Record<string, string>, Buffer?][] = [
    ["GET", read, {}],
    ["PUT", block, {}, evil],
    ["PUT", write, {}, evil],
    ["POST", "/concat", { "content-type": "application/json" }, Buffer.from("{}")],
    ["GET", read, { [DATA_SIGNATURE_HEADER]: forged.sign("GET", read) }],
    ["PUT", block, { [DATA_SIGNATURE_HEADER]: forged.sign("PUT", block) }, evil],
    ["PUT", block, { [DATA_SIGNATURE_HEADER]: new DataRequestSigner(cluster.clusterKey).sign("GET", read) }, evil],
    ["GET", read, { [DATA_SIGNATURE_HEADER]: `${Date.now() - 1000}.AAAA` }],
  ];
  for (const [method, path, headers, reqBody] of attempts) {
    const res = await fetch(node.url + path, { method, headers, ...(reqBody ? { body: reqBody } : {}) });
    assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
    assert.equal(((await res.json()) as { code: string }).code, "UNAUTHENTICATED");
  }
  assert.equal(node.stats().pages, pagesBefore, "nothing stored");
  assert.deepEqual((await readdir(join(cluster.home, "ufs", "planted"))).sort(), ["obj"], "nothing written to the under-store");

  // Planted on disk: every page of the object replaced by other bytes, with a header an attacker can compute (a CRC32).
  for (const page of await readdir(join(pagesDir, contentId))) {
    const file = join(pagesDir, contentId, page);
    const size = (await readFile(file)).length - 16;
    const data = Buffer.alloc(size, "p");
    const header = Buffer.alloc(16);
    header.writeUInt32BE(crc32(data), 0);
    await writeFile(file, Buffer.concat([header, data]));
  }
  const served = await get(s3, "planted", "obj");
  assert.ok(served.equals(body), "the planted pages are never served: the bytes come from the under-store");
  assert.ok(node.stats().corruptPages >= 3, `${node.stats().corruptPages} pages refused`);
});
