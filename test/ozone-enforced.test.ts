import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { Readable } from "node:stream";
import { test } from "node:test";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import {
  alluxioRead,
  alluxioWrite,
  basicAuth,
  type OzoneAnswer,
  ozoneCall,
  s3Client,
  s3Outcome,
  TEST_CREDENTIALS,
} from "@koine/testkit/clients";

/**
 * What koine enforces where Ozone only stored it: volume quotas (through
 * every dialect, against racing writers) and bucket ACLs (in the one
 * permission model, so they hold on every port); and the same bytes
 * through every dialect, a 1 GiB key streamed.
 */

const READER = { accessKeyId: "reader", secretAccessKey: "readersecret" };

async function ozoneCluster(t: import("node:test").TestContext, extra: Parameters<typeof bootCluster>[1] = {}) {
  const cluster = await bootCluster(t, {
    ozone: { auth: "simple", groups: new Map([["samwise", ["hobbits"]]]) },
    users: [
      { accessKey: TEST_CREDENTIALS.accessKeyId, secretKey: TEST_CREDENTIALS.secretAccessKey, admin: true },
      { accessKey: READER.accessKeyId, secretKey: READER.secretAccessKey },
    ],
    ...extra,
  });
  const call = (method: string, path: string, options?: Parameters<typeof ozoneCall>[3]) =>
    ozoneCall(cluster.ozoneUrl, method, path, options);
  return { cluster, call };
}

const json = (r: OzoneAnswer) => r.json as Record<string, unknown>;
const expectStatus = (r: OzoneAnswer, status: number, what: string) => assert.equal(r.status, status, `${what}: ${r.body}`);
const KIB = 1024;

/** The bytes a volume holds, as its listing entry says (metadata's count). */
async function usedBytes(call: (m: string, p: string, o?: Parameters<typeof ozoneCall>[3]) => Promise<OzoneAnswer>, volume: string) {
  const all = json(await call("GET", "/?root-scan=true&max-keys=1024")).volumes as { volumeName: string; bytesUsed: number }[];
  return all.find((v) => v.volumeName === volume)?.bytesUsed;
}

test("ozone quota - writes up to the quota pass and the next is refused with nothing written; racing writers cannot pass it together; deletes free it; S3, Alluxio and AIS writes count", async (t) => {
  const { cluster, call } = await ozoneCluster(t);
  expectStatus(await call("POST", "/quota?quota=1MB", { headers: { "x-ozone-user": "bilbo" } }), 201, "volume");
  expectStatus(await call("POST", "/quota/bkt", { user: "bilbo" }), 201, "bucket");
  const quarter = randomBytes(256 * KIB);
  for (let i = 0; i < 4; i++) expectStatus(await call("PUT", `/quota/bkt/k${i}`, { user: "bilbo", body: quarter }), 201, `k${i}`);
  assert.equal(await usedBytes(call, "quota"), 1024 * KIB, "exactly full");
  const over = await call("PUT", "/quota/bkt/one-more", { user: "bilbo", body: "x" });
  expectStatus(over, 403, "one byte over");
  assert.match(json(over).message as string, /^Create key failed, error:QUOTA_EXCEEDED/);
  expectStatus(await call("GET", "/quota/bkt/one-more", { user: "bilbo" }), 400, "nothing written");
  expectStatus(await call("PUT", "/quota/bkt/k0", { user: "bilbo", body: quarter }), 201, "an overwrite of the same size fits");
  assert.equal(await usedBytes(call, "quota"), 1024 * KIB, "an overwrite counts once");

  // Every dialect's writes count against the volume (the quota is metadata's).
  const s3 = s3Client(cluster.s3Url);
  assert.equal(await s3Outcome(s3.send(new PutObjectCommand({ Bucket: "quota", Key: "bkt/s3", Body: "x" }))), "403 QuotaExceeded", "S3");
  await assert.rejects(alluxioWrite(cluster.alluxioUrl, "quota/bkt/alluxio", Buffer.from("x")), /RESOURCE_EXHAUSTED/, "Alluxio");
  const ais = await fetch(`${cluster.aisUrl}/v1/objects/quota/bkt/ais?provider=ais`, {
    method: "PUT",
    body: "x",
    headers: basicAuth(),
    redirect: "follow",
  });
  assert.equal(ais.status, 403, `AIS: ${await ais.text()}`);
  assert.equal(await usedBytes(call, "quota"), 1024 * KIB, "none of them wrote");

  // Deletes free bytes; S3's PUT then counts like any other.
  for (const k of ["k0", "k1", "k2", "k3"]) expectStatus(await call("DELETE", `/quota/bkt/${k}`, { user: "bilbo" }), 200, `delete ${k}`);
  assert.equal(await usedBytes(call, "quota"), 0);
  await s3.send(new PutObjectCommand({ Bucket: "quota", Key: "bkt/s3", Body: quarter }));
  assert.equal(await usedBytes(call, "quota"), 256 * KIB, "an S3 PUT into the volume counts");

  // Eight writers of a quarter each race for the three quarters left: three win, the volume is exactly full.
  const racers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => call("PUT", `/quota/bkt/race${i}`, { user: "bilbo", body: quarter }).then((r) => r.status)),
  );
  assert.deepEqual(racers.filter((s) => s === 201).length, 3, `three of eight racing writers fit: ${racers.join(",")}`);
  assert.ok(
    racers.every((s) => s === 201 || s === 403),
    racers.join(","),
  );
  assert.equal(await usedBytes(call, "quota"), 1024 * KIB, "never past the quota");
  const keys = json(await call("GET", "/quota/bkt", { user: "bilbo" })).keyList as { keyName: string }[];
  assert.equal(keys.length, 4, "the winners and the S3 key, nothing of the losers");

  // Removing the quota lets writes on; setting one below the usage stops them.
  expectStatus(await call("PUT", "/quota?quota=remove"), 200, "remove");
  expectStatus(await call("PUT", "/quota/bkt/free", { user: "bilbo", body: quarter }), 201, "no quota");
  expectStatus(await call("PUT", "/quota?quota=1MB"), 200, "below usage");
  expectStatus(await call("PUT", "/quota/bkt/stopped", { user: "bilbo", body: "x" }), 403, "over");
});

test("ozone ACLs - a private bucket refuses strangers; user:x:r lets x read, not write; REMOVE takes it back; world::r opens reads to all; the same through S3", async (t) => {
  const { cluster, call } = await ozoneCluster(t);
  expectStatus(await call("POST", "/acl", { headers: { "x-ozone-user": "bilbo" } }), 201, "volume");
  expectStatus(await call("POST", "/acl/private", { user: "bilbo" }), 201, "bucket");
  expectStatus(await call("PUT", "/acl/private/ring", { user: "bilbo", body: "precious" }), 201, "key");
  const s3Reader = s3Client(cluster.s3Url, READER);
  const s3Get = (client = s3Reader) => s3Outcome(client.send(new GetObjectCommand({ Bucket: "acl", Key: "private/ring" })));
  const s3Put = () => s3Outcome(s3Reader.send(new PutObjectCommand({ Bucket: "acl", Key: "private/new", Body: "x" })));

  // The volume's owner may do anything in it; a stranger nothing.
  for (const who of ["reader", "gollum"]) {
    expectStatus(await call("GET", "/acl/private/ring", { user: who }), 403, `${who} reads`);
    expectStatus(await call("PUT", "/acl/private/theirs", { user: who, body: "x" }), 403, `${who} writes`);
    expectStatus(await call("DELETE", "/acl/private/ring", { user: who }), 403, `${who} deletes`);
    expectStatus(await call("GET", "/acl/private", { user: who }), 403, `${who} lists`);
  }
  assert.equal(await s3Get(), "403 AccessDenied", "nor through S3");

  expectStatus(await call("PUT", "/acl/private", { user: "bilbo", headers: { "x-ozone-acls": "ADD user:reader:r" } }), 200, "grant");
  assert.equal((await call("GET", "/acl/private/ring", { user: "reader" })).body, "precious", "reader reads");
  expectStatus(await call("GET", "/acl/private", { user: "reader" }), 200, "and lists");
  expectStatus(await call("PUT", "/acl/private/mine", { user: "reader", body: "x" }), 403, "but does not write");
  expectStatus(await call("DELETE", "/acl/private/ring", { user: "reader" }), 403, "nor delete");
  expectStatus(await call("PUT", "/acl/private", { user: "reader", headers: { "x-ozone-acls": "ADD user:reader:rw" } }), 403, "nor grant");
  expectStatus(await call("GET", "/acl/private/ring", { user: "gollum" }), 403, "another user still not");
  assert.equal(await s3Get(), "ok", "the grant holds through S3 for the same user");
  assert.equal(await s3Put(), "403 AccessDenied", "and refuses S3 writes too");
  const alluxio = await alluxioRead(cluster.alluxioUrl, "acl/private/ring", {}, READER);
  assert.equal(alluxio.toString(), "precious", "and the Alluxio proxy");

  expectStatus(await call("PUT", "/acl/private", { user: "bilbo", headers: { "x-ozone-acls": "REMOVE user:reader:r" } }), 200, "revoke");
  expectStatus(await call("GET", "/acl/private/ring", { user: "reader" }), 403, "taken back");
  assert.equal(await s3Get(), "403 AccessDenied", "everywhere");

  expectStatus(await call("PUT", "/acl/private", { user: "bilbo", headers: { "x-ozone-acls": "ADD world::r" } }), 200, "world");
  for (const who of ["reader", "gollum", ""]) {
    assert.equal((await call("GET", "/acl/private/ring", { user: who })).body, "precious", `world::r: ${who || "anonymous"} reads`);
    expectStatus(await call("PUT", "/acl/private/w", { user: who, body: "x" }), 403, `world::r: ${who || "anonymous"} writes not`);
  }
  const anonymousGet = await fetch(`${cluster.s3Url}/acl/private/ring`);
  assert.equal(await anonymousGet.text(), "precious", "an unsigned S3 GET too");

  // Groups from KOINE_OZONE_GROUPS; WRITE lets a member write and delete.
  expectStatus(await call("PUT", "/acl/private", { user: "bilbo", headers: { "x-ozone-acls": "ADD group:hobbits:w" } }), 200, "group");
  expectStatus(await call("PUT", "/acl/private/sam", { user: "samwise", body: "po-tay-toes" }), 201, "a member writes");
  expectStatus(await call("DELETE", "/acl/private/sam", { user: "samwise" }), 200, "and deletes");
  expectStatus(await call("PUT", "/acl/private/gollum", { user: "gollum", body: "x" }), 403, "a non-member does not");
});

test("ozone auth - KOINE_OZONE_AUTH=koine (the default): OZONE <user> is refused, koine keys sign in, OZONE alone is anonymous", async (t) => {
  const { cluster, call } = await ozoneCluster(t, { ozone: { auth: "koine" } });
  const named = await call("POST", "/kvol", { user: "hdfs", headers: { "x-ozone-user": "hdfs" } });
  expectStatus(named, 401, "a named user without proof");
  assert.equal(json(named).shortMessage, "Unauthorized");
  const admin = { headers: { authorization: basicAuth().authorization, "x-ozone-user": "koine" } };
  expectStatus(await call("POST", "/kvol", admin), 201, "an admin's koine key");
  expectStatus(
    await call("POST", "/kvol2", { headers: { authorization: basicAuth(READER).authorization, "x-ozone-user": "reader" } }),
    403,
    "a user's key is no admin",
  );
  expectStatus(await call("GET", "/kvol?info=volume", { headers: { authorization: "Basic cmVhZGVyOndyb25n" } }), 401, "a wrong secret");
  expectStatus(await call("GET", "/kvol?info=volume", { user: "" }), 403, "anonymous: the volume is private");
  expectStatus(await call("GET", "/", { user: "" }), 200, "anonymous lists its own (none)");
  assert.deepEqual(json(await call("GET", "/", { user: "" })).volumes, []);
  assert.equal(cluster.ozoneUrl.startsWith("http://127.0.0.1:"), true);
});

test("ozone - the same bytes through Ozone, S3, the Alluxio proxy and AIS, both ways; a 1 GiB key put through Ozone streams", async (t) => {
  const { cluster, call } = await ozoneCluster(t, { cacheMemoryBytes: 8 * 1024 * 1024 });
  expectStatus(await call("POST", "/cross", { headers: { "x-ozone-user": "hdfs" } }), 201, "volume");
  expectStatus(await call("POST", "/cross/bkt"), 201, "bucket");
  const s3 = s3Client(cluster.s3Url);
  const ais = (path: string, init: RequestInit = {}) =>
    fetch(`${cluster.aisUrl}/v1/objects/cross/${path}?provider=ais`, { redirect: "follow", ...init, headers: basicAuth() });
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  expectStatus(await call("PUT", "/cross/bkt/from-ozone", { body: bytes }), 201, "put");
  const fromS3 = await s3.send(new GetObjectCommand({ Bucket: "cross", Key: "bkt/from-ozone" }));
  const viaS3 = Buffer.from((await fromS3.Body?.transformToByteArray()) ?? []);
  assert.ok(viaS3.equals(bytes), "S3 reads what Ozone wrote");
  assert.ok((await alluxioRead(cluster.alluxioUrl, "cross/bkt/from-ozone")).equals(bytes), "Alluxio");
  assert.ok(Buffer.from(await (await ais("bkt/from-ozone")).arrayBuffer()).equals(bytes), "AIS");

  const written = { s3: randomBytes(100_000), alluxio: randomBytes(100_001), ais: randomBytes(100_002) };
  await s3.send(new PutObjectCommand({ Bucket: "cross", Key: "bkt/from-s3", Body: written.s3 }));
  await alluxioWrite(cluster.alluxioUrl, "cross/bkt/from-alluxio", written.alluxio);
  // AIS redirects a PUT to the target that will own the object; the client sends the body there.
  const redirect = await ais("bkt/from-ais", { method: "PUT", body: written.ais, redirect: "manual" });
  assert.equal(redirect.status, 307);
  const put = await fetch(redirect.headers.get("location") as string, { method: "PUT", body: written.ais });
  assert.equal(put.status, 200, await put.text());
  for (const [dialect, sent] of Object.entries(written)) {
    const raw = await rawGet(cluster.ozoneUrl, `/cross/bkt/from-${dialect}`);
    assert.ok(raw.equals(sent), `Ozone reads what ${dialect} wrote`);
  }
  const listed = (json(await call("GET", "/cross/bkt")).keyList as { keyName: string; size: number }[]).map((k) => [k.keyName, k.size]);
  assert.deepEqual(listed, [
    ["from-ais", 100_002],
    ["from-alluxio", 100_001],
    ["from-ozone", bytes.length],
    ["from-s3", 100_000],
  ]);

  // 1 GiB through the Ozone gateway: streamed, so this process (gateway, cache node, metadata) grows by far less.
  const size = 1024 ** 3;
  const block = randomBytes(8 * 1024 * 1024);
  const sent = createHash("sha256");
  const body = Readable.from(
    (function* () {
      for (let i = 0; i < size / block.length; i++) {
        const chunk = Buffer.from(block);
        chunk[0] = i;
        sent.update(chunk);
        yield chunk;
      }
    })(),
  );
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  try {
    const status = await rawPut(cluster.ozoneUrl, "/cross/bkt/one-gib", body, size);
    assert.equal(status, 201);
  } finally {
    clearInterval(sampler);
  }
  t.diagnostic(`1 GiB put through Ozone: the process grew by ${Math.round((peak - before) / 1024 / 1024)} MiB at most`);
  assert.ok(
    peak - before < 256 * 1024 * 1024,
    `the process grew ${Math.round((peak - before) / 1024 / 1024)} MiB while 1 GiB went through`,
  );
  const info = json(await call("GET", "/cross/bkt/one-gib?info=key-detail"));
  assert.equal(info.size, size);
  assert.equal((info.keyLocations as unknown[]).length, Math.ceil(size / (64 * 1024 * 1024)), "a location a block");
  const got = await s3.send(new GetObjectCommand({ Bucket: "cross", Key: "bkt/one-gib" }));
  const received = createHash("sha256");
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) received.update(chunk);
  assert.equal(received.digest("hex"), sent.digest("hex"), "the same GiB back through S3");
});

function rawGet(base: string, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { headers: { "x-ozone-version": "v1", date: new Date().toUTCString(), authorization: "OZONE hdfs" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function rawPut(base: string, path: string, body: Readable, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method: "PUT",
        headers: { "x-ozone-version": "v1", date: new Date().toUTCString(), authorization: "OZONE hdfs", "content-length": String(size) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    body.pipe(req);
  });
}
