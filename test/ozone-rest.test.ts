import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { test } from "node:test";
import { bootCluster } from "@koine/launcher";
import { ERROR_TABLE, type OzoneErrorCode } from "@koine/ozone";
import { type OzoneAnswer, ozoneCall } from "@koine/testkit/clients";

/**
 * The checks of Ozone's own tests (wire reference §13), over raw HTTP with
 * the headers they sent, and every row of Ozone's error table a request
 * can reach.
 */

type Call = (method: string, path: string, options?: Parameters<typeof ozoneCall>[3]) => Promise<OzoneAnswer>;

async function ozoneCluster(t: import("node:test").TestContext) {
  const cluster = await bootCluster(t, { ozone: { auth: "simple", admins: ["ozoneadmin"], groups: new Map([["samwise", ["hobbits"]]]) } });
  const call: Call = (method, path, options) => ozoneCall(cluster.ozoneUrl, method, path, options);
  return { cluster, call };
}

const json = (r: OzoneAnswer) => r.json as Record<string, unknown> & { [k: string]: unknown };
const expectStatus = (r: OzoneAnswer, status: number, what: string) => assert.equal(r.status, status, `${what}: ${r.body}`);

test("ozone §13 - Ozone's raw-HTTP checks: creates, the admin check before the quota, 1000 creates, listing as hdfs and root, a bucket", async (t) => {
  const { call } = await ozoneCluster(t);
  const hdfs = { headers: { "x-ozone-user": "hdfs" } };
  const created = await call("POST", `/${randomUUID()}`, hdfs);
  expectStatus(created, 201, "1. create");
  assert.equal(created.body, "");
  assert.equal(created.headers["content-length"], "0");
  assert.match(String(created.headers["x-ozone-request-id"]), /^[0-9a-f-]{36}$/);
  assert.ok(created.headers["x-ozone-server-name"]);
  assert.match(String(created.headers.date), /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  expectStatus(await call("POST", `/${randomUUID()}?quota=10TB`, hdfs), 201, "2. with a quota");
  const nan = await call("POST", `/${randomUUID()}?quota=NaN`, hdfs);
  expectStatus(nan, 400, "3. quota NaN");
  assert.equal(json(nan).shortMessage, "malformedQuota");
  const noOwner = await call("POST", `/${randomUUID()}?quota=1TB`);
  expectStatus(noOwner, 404, "4. no x-ozone-user");
  assert.equal(json(noOwner).shortMessage, "userNotFound");
  const bilbo = await call("POST", `/${randomUUID()}?quota=NaN`, { user: "bilbo", headers: { "x-ozone-user": "hdfs" } });
  expectStatus(bilbo, 403, "5. not an admin, before the quota is read");
  assert.equal(json(bilbo).shortMessage, "accessDenied");

  const owners = ["bilbo", "frodo", "samwise", "merry", "pippin"];
  const results = [];
  for (let i = 0; i < 1000; i++) {
    const owner = owners[Math.floor(Math.random() * owners.length)] as string;
    results.push((await call("POST", `/${randomUUID()}`, { headers: { "x-ozone-user": owner } })).status);
  }
  assert.deepEqual(new Set(results), new Set([201]), "6. 1000 creates with random owners");

  const asHdfs = await call("GET", "/", hdfs);
  expectStatus(asHdfs, 200, "7. list as hdfs");
  assert.equal((json(asHdfs).volumes as unknown[]).length, 2, "hdfs owns the first two");
  const asRoot = await call("GET", "/", { user: "root", headers: { "x-ozone-user": "hdfs" } });
  expectStatus(asRoot, 200, "7. list as root for hdfs");
  assert.equal((json(asRoot).volumes as unknown[]).length, 2);
  const asBilbo = await call("GET", "/", { user: "bilbo", headers: { "x-ozone-user": "hdfs" } });
  assert.ok(
    (json(asBilbo).volumes as { owner: { name: string } }[]).every((v) => v.owner.name === "bilbo"),
    "a non-admin lists its own volumes, x-ozone-user ignored",
  );

  const volume = randomUUID();
  expectStatus(await call("POST", `/${volume}`, hdfs), 201, "8. volume");
  const bucket = `${randomUUID()}bucket`;
  expectStatus(await call("POST", `/${volume}/${bucket}`), 201, "8. bucket");
  const keys = await call("GET", `/${volume}/${bucket}`);
  expectStatus(keys, 200, "8. list keys");
  assert.deepEqual(json(keys).keyList, []);
  assert.equal(keys.headers["content-type"], "application/json");
});

test("ozone §13 - volume pagination by prev-key over 2000 volumes, pages of 100", async (t) => {
  const { call } = await ozoneCluster(t);
  const names = Array.from({ length: 2000 }, (_, i) => `page-vol-${String(i).padStart(4, "0")}-${randomUUID().slice(0, 8)}`);
  for (const name of names) expectStatus(await call("POST", `/${name}`, { headers: { "x-ozone-user": "pager" } }), 201, name);
  const seen: string[] = [];
  let prevKey: string | undefined;
  for (;;) {
    const page = await call("GET", `/?max-keys=100${prevKey ? `&prev-key=${prevKey}` : ""}`, { headers: { "x-ozone-user": "pager" } });
    expectStatus(page, 200, "page");
    const volumes = (json(page).volumes as { volumeName: string }[]).map((v) => v.volumeName);
    if (volumes.length === 0) break;
    assert.ok(volumes.length <= 100);
    seen.push(...volumes);
    prevKey = volumes[volumes.length - 1];
  }
  assert.deepEqual(seen, [...names].sort(), "every volume once, in name order");
});

test("ozone §13 - Ozone's client-level checks: volume info and updates, names, volume and bucket listings, ACLs, keys", async (t) => {
  const { call } = await ozoneCluster(t);
  // 9-12: a volume's info, a duplicate, a bad name, owner and quota changes.
  const before = Math.floor(Date.now() / 1000) * 1000;
  expectStatus(await call("POST", "/shire?quota=100TB", { headers: { "x-ozone-user": "bilbo" } }), 201, "9");
  const info = json(await call("GET", "/shire?info=volume"));
  assert.deepEqual(
    [info.owner, info.quota, info.createdBy, info.volumeName],
    [{ name: "bilbo" }, { unit: "TB", size: 100 }, "hdfs", "shire"],
  );
  assert.ok(Date.parse(info.createdOn as string) >= before, "createdOn is now, to the second");
  const duplicate = await call("POST", "/shire", { headers: { "x-ozone-user": "bilbo" } });
  expectStatus(duplicate, 409, "10");
  assert.match(json(duplicate).message as string, /Volume creation failed, error:VOLUME_ALREADY_EXISTS/);
  const hash = await call("POST", `/%23${randomUUID()}`, { headers: { "x-ozone-user": "bilbo" } });
  expectStatus(hash, 400, "11");
  assert.equal(json(hash).message, "Bucket or Volume name has an unsupported character : #");
  const hashBucket = await call("POST", `/shire/%23${randomUUID()}`);
  assert.equal(json(hashBucket).message, "Bucket or Volume name has an unsupported character : #", "the same check for buckets");
  expectStatus(await call("PUT", "/shire", { headers: { "x-ozone-user": "frodo" } }), 200, "12 owner");
  expectStatus(await call("PUT", "/shire?quota=1000MB"), 200, "12 quota");
  const updated = json(await call("GET", "/shire?info=volume"));
  assert.deepEqual([updated.owner, updated.quota], [{ name: "frodo" }, { unit: "MB", size: 1000 }]);
  expectStatus(await call("PUT", "/shire?quota=remove"), 200, "quota=remove");
  assert.deepEqual(json(await call("GET", "/shire?info=volume")).quota, { unit: "TB", size: 1048576 });

  // 13: two users' volumes, listed by owner, max-keys, prefix, prev-key (lexicographic: docs/ozone-compatibility.md).
  for (let i = 0; i < 20; i++) {
    expectStatus(
      await call("POST", `/test-vol${i}`, { headers: { "x-ozone-user": i % 2 === 0 ? "user1" : "user2" } }),
      201,
      `test-vol${i}`,
    );
  }
  const list = async (query: string, user = "user1") =>
    (json(await call("GET", `/${query}`, { headers: { "x-ozone-user": user } })).volumes as { volumeName: string }[]).map(
      (v) => v.volumeName,
    );
  assert.equal((await list("")).length, 10);
  assert.equal((await list("?max-keys=2")).length, 2);
  assert.deepEqual(await list("?prefix=test-vol10"), ["test-vol10"]);
  assert.equal((await list("?prefix=test-vol1")).length, 5);
  assert.deepEqual(await list("?prev-key=test-vol15", "user2"), [
    "test-vol17",
    "test-vol19",
    "test-vol3",
    "test-vol5",
    "test-vol7",
    "test-vol9",
  ]);
  assert.equal((await list("?max-keys=2", "user1")).length, 2);
  const asUser1 = await call("GET", "/", { user: "user1" });
  assert.equal((json(asUser1).volumes as unknown[]).length, 10, "a user lists its own");
  const all = await call("GET", "/?root-scan=true&max-keys=1024");
  assert.equal((json(all).volumes as unknown[]).length, 21, "root-scan lists everyone's");
  expectStatus(await call("GET", "/?root-scan=true", { user: "user1" }), 401, "root-scan is an admin's");

  // 14: buckets listed after prev-key.
  expectStatus(await call("POST", "/listing?quota=1GB", { headers: { "x-ozone-user": "bilbo" } }), 201, "14 volume");
  for (let i = 0; i < 10; i++) expectStatus(await call("POST", `/listing/listbucket-test-${i}`), 201, `bucket ${i}`);
  const buckets = async (query: string) => (json(await call("GET", `/listing${query}`)).buckets as unknown[]).length;
  assert.deepEqual(
    [await buckets(""), await buckets("?prev-key=listbucket-test-4"), await buckets("?prev-key=listbucket-test-3")],
    [10, 5, 6],
  );
  const listed = json(await call("GET", "/listing")).buckets as { volumeName: string; storageType: string }[];
  assert.ok(listed.every((b) => b.volumeName === "listing" && b.storageType === "DISK"));

  // 15-16: ACLs added and removed; a deleted bucket has no info.
  const acls = async () => (json(await call("GET", "/listing/listbucket-test-0?info=bucket")).acls as unknown[]).length;
  const initial = await acls();
  const add = ["ADD user:frodo:rw", "ADD user:samwise:rw"];
  expectStatus(await call("PUT", "/listing/listbucket-test-0", { headers: { "x-ozone-acls": add } }), 200, "15 add");
  assert.equal(await acls(), initial + 2);
  expectStatus(
    await call("PUT", "/listing/listbucket-test-0", { headers: { "x-ozone-acls": ["REMOVE user:frodo:rw", "REMOVE user:samwise:rw"] } }),
    200,
    "15 remove",
  );
  assert.equal(await acls(), initial);
  expectStatus(await call("DELETE", "/listing/listbucket-test-9"), 200, "16 delete");
  const gone = await call("GET", "/listing/listbucket-test-9?info=bucket");
  assert.equal(gone.status, 400, "16: a deleted bucket's info fails");
  assert.match(json(gone).message as string, /BUCKET_NOT_FOUND/);

  // 17: keys.
  const key = "/listing/listbucket-test-1/file-0";
  expectStatus(await call("PUT", key, { body: "hobbit" }), 201, "17 put");
  assert.equal((await call("GET", key)).body, "hobbit");
  const head = await call("HEAD", key);
  assert.deepEqual([head.status, head.headers["content-length"], head.body], [200, "6", ""], "HEAD: the GET's headers, no body");
  expectStatus(await call("DELETE", key), 200, "17 delete");
  const missing = await call("GET", key);
  expectStatus(missing, 400, "17 get after delete");
  assert.match(json(missing).message as string, /KEY_NOT_FOUND/);
  for (let i = 0; i < 11; i++)
    expectStatus(await call("PUT", `/listing/listbucket-test-2/list-key${i}`, { body: `key ${i}` }), 201, `key ${i}`);
  const keys = async (query: string) => (json(await call("GET", `/listing/listbucket-test-2${query}`)).keyList as unknown[]).length;
  assert.equal(await keys(""), 11);
  assert.equal(await keys("?prefix=list-key&prev-key=list-key4"), 5);
  assert.equal(await keys("?max-keys=3"), 3);
  const noBucket = await call("GET", "/listing/no-such-bucket");
  assert.match(json(noBucket).message as string, /BUCKET_NOT_FOUND/);
});

test("ozone §13 - the robot shell test: volume, bucket, ACLs by group, keys, then everything deleted", async (t) => {
  const { call } = await ozoneCluster(t);
  expectStatus(await call("POST", "/robot?quota=100TB", { headers: { "x-ozone-user": "bilbo" } }), 201, "create volume");
  const volumes = await call("GET", "/", { headers: { "x-ozone-user": "bilbo" } });
  assert.match(volumes.body, /createdOn/);
  expectStatus(await call("PUT", "/robot?quota=10TB", { headers: { "x-ozone-user": "bill" } }), 200, "update");
  const volume = json(await call("GET", "/robot?info=volume"));
  assert.deepEqual([(volume.owner as { name: string }).name, (volume.quota as { size: number }).size], ["bill", 10]);
  expectStatus(await call("POST", "/robot/bb1"), 201, "create bucket");
  assert.equal(json(await call("GET", "/robot/bb1?info=bucket")).storageType, "DISK");
  expectStatus(
    await call("PUT", "/robot/bb1", { headers: { "x-ozone-acls": ["ADD user:frodo:rw", "ADD group:samwise:r"] } }),
    200,
    "addAcl",
  );
  const withGroup = json(await call("GET", "/robot/bb1?info=bucket")).acls as { type: string; name: string }[];
  assert.equal(withGroup.find((a) => a.name === "samwise")?.type, "GROUP");
  expectStatus(await call("PUT", "/robot/bb1", { headers: { "x-ozone-acls": "REMOVE group:samwise:r" } }), 200, "removeAcl");
  const without = json(await call("GET", "/robot/bb1?info=bucket")).acls as { type: string; name: string }[];
  assert.deepEqual(without, [{ type: "USER", name: "frodo", rights: "READ_WRITE" }]);
  assert.equal((json(await call("GET", "/robot")).buckets as { volumeName: string }[])[0]?.volumeName, "robot");
  expectStatus(await call("PUT", "/robot/bb1/key1", { body: "robot key" }), 201, "put key");
  assert.equal((await call("GET", "/robot/bb1/key1")).body, "robot key");
  assert.match((await call("GET", "/robot/bb1/key1?info=key")).body, /createdOn/);
  assert.equal((json(await call("GET", "/robot/bb1")).keyList as { keyName: string }[])[0]?.keyName, "key1");
  expectStatus(await call("DELETE", "/robot/bb1/key1"), 200, "delete key");
  expectStatus(await call("DELETE", "/robot/bb1"), 200, "delete bucket");
  expectStatus(await call("DELETE", "/robot"), 200, "delete volume");
  expectStatus(await call("GET", "/robot?info=volume"), 404, "gone");
});

/** Rows no request can produce: Ozone declared them and never raised them (docs/ozone-compatibility.md). */
const UNREACHABLE: OzoneErrorCode[] = ["INVALID_RESOURCE_NAME", "MALFORMED_STORAGE_CLASS", "BAD_PROPERTY", "SERVER_ERROR"];

test("ozone errors - every row of Ozone's error table a request can reach, with its status, shortMessage and the six fields", async (t) => {
  const { cluster, call } = await ozoneCluster(t);
  const owner = { headers: { "x-ozone-user": "bilbo" } };
  expectStatus(await call("POST", "/errs?quota=1MB", owner), 201, "volume");
  expectStatus(await call("POST", "/errs/full"), 201, "bucket");
  expectStatus(await call("PUT", "/errs/full/k", { body: "k" }), 201, "key");
  expectStatus(await call("POST", "/errs-empty", owner), 201, "volume");
  expectStatus(await call("PUT", "/errs/full/other", { body: "o" }), 201, "another key");

  const cases: [OzoneErrorCode, () => Promise<OzoneAnswer>][] = [
    ["MISSING_VERSION", () => call("GET", "/errs?info=volume", { headers: { "x-ozone-version": null } })],
    ["MISSING_DATE", () => call("GET", "/errs?info=volume", { headers: { date: null } })],
    ["BAD_DATE", () => call("GET", "/errs?info=volume", { headers: { date: "2026-12-01T10:00:00Z" } })],
    ["MALFORMED_QUOTA", () => call("PUT", "/errs?quota=12KB")],
    ["MALFORMED_ACL", () => call("PUT", "/errs/full", { headers: { "x-ozone-acls": "ADD user:frodo:rwx" } })],
    ["INVALID_VOLUME_NAME", () => call("GET", "/Errs?info=volume")],
    ["INVALID_QUERY_PARAM", () => call("GET", "/errs?info=nonsense")],
    ["INVALID_BUCKET_NAME", () => call("GET", "/errs/b_")],
    ["INVALID_KEY", () => call("GET", "/errs/full/missing")],
    ["INVALID_REQUEST", () => call("PUT", "/errs/full/k2", { headers: { "transfer-encoding": "chunked" }, body: "" })],
    ["MALFORMED_BUCKET_VERSION", () => call("PUT", "/errs/full", { headers: { "x-ozone-bucket-versioning": "SOMETIMES" } })],
    ["MALFORMED_STORAGE_TYPE", () => call("PUT", "/errs/full", { headers: { "x-ozone-storage-type": "TAPE" } })],
    ["BAD_DIGEST", () => call("PUT", "/errs/full/k3", { body: "abc", headers: { "content-md5": "0".repeat(32) } })],
    ["INCOMPLETE_BODY", () => shortBody(cluster.ozoneUrl, "/errs/full/short")],
    ["BAD_AUTHORIZATION", () => call("GET", "/errs?info=volume", { headers: { authorization: "Bearer x" } })],
    ["UNAUTHORIZED", () => call("GET", "/?root-scan=true", { user: "bilbo" })],
    ["ACCESS_DENIED", () => call("GET", "/errs/full/k", { user: "mallory" })],
    ["USER_NOT_FOUND", () => call("POST", "/errs-noowner")],
    ["VOLUME_NOT_FOUND", () => call("GET", "/errs-missing?info=volume")],
    ["VOLUME_ALREADY_EXISTS", () => call("POST", "/errs", owner)],
    ["BUCKET_ALREADY_EXISTS", () => call("POST", "/errs/full")],
    ["VOLUME_NOT_EMPTY", () => call("DELETE", "/errs")],
    ["BUCKET_NOT_EMPTY", () => call("DELETE", "/errs/full")],
    ["KEY_OPERATION_CONFLICT", () => call("POST", "/errs/full/k?toKey=other")],
  ];
  expectStatus(await call("POST", "/errs/full/k?toKey=k"), 200, "a rename onto itself is a no-op, as in Ozone");

  for (const [code, request] of cases) {
    const answer = await request();
    const [status, shortMessage] = ERROR_TABLE[code];
    assert.equal(answer.status, status, `${code}: ${answer.body}`);
    assert.deepEqual(Object.keys(json(answer)), ["httpCode", "shortMessage", "resource", "message", "requestID", "hostName"], code);
    assert.deepEqual([json(answer).httpCode, json(answer).shortMessage], [status, shortMessage], code);
    assert.equal(typeof json(answer).message, "string", code);
    assert.equal(answer.headers["content-type"], "application/json", code);
    assert.ok(answer.headers["x-ozone-request-id"], `${code}: the request id`);
  }
  const covered = new Set([...cases.map(([code]) => code), ...UNREACHABLE]);
  assert.deepEqual([...covered].sort(), Object.keys(ERROR_TABLE).sort(), "every row is produced or said to be unreachable");

  // Nothing the errors refused was written.
  for (const key of ["k2", "k3", "short"]) expectStatus(await call("GET", `/errs/full/${key}`), 400, `${key} absent`);
  const exact = [
    ["GET", "/errs/full/missing", "Lookup key failed, error:KEY_NOT_FOUND"],
    ["DELETE", "/errs/full/missing", "Delete key failed, error:KEY_NOT_FOUND"],
    ["POST", "/errs/full/missing?toKey=x", "Rename key failed, error:KEY_NOT_FOUND"],
    ["GET", "/errs/full?max-keys=2000", "Illegal max number of keys specified, the value must be in range (0, 1024], actual : 2000."],
    ["PUT", "/errs/full/nolength", "Content-Length is a required header for putting a key."],
  ] as const;
  for (const [method, path, message] of exact) {
    const answer = await call(method, path, method === "PUT" ? { headers: { "transfer-encoding": "chunked" }, body: "" } : {});
    assert.equal(json(answer).message, message, `${method} ${path}`);
  }
  assert.equal(json(await call("GET", "/errs?max-keys=0")).shortMessage, "invalidVolumeName", "Ozone's sic: max-keys on a volume call");
  assert.equal(json(await call("GET", "/errs/full?max-keys=0")).shortMessage, "invalidBucketName", "and on a bucket call");
  expectStatus(await call("DELETE", "/errs-empty", { user: "mallory" }), 403, "a stranger deletes no volume");
  expectStatus(await call("DELETE", "/errs-empty", { user: "bilbo" }), 200, "its owner does");
  expectStatus(await call("PATCH", "/errs"), 400, "an unknown method is Ozone's JSON error too");
});

test("ozone - reading the request: Date leniently and never against the clock, x-ozone-version any value, Authorization spellings", async (t) => {
  const { cluster, call } = await ozoneCluster(t);
  expectStatus(await call("POST", "/dates", { headers: { "x-ozone-user": "bilbo" } }), 201, "volume");
  for (const date of [
    "Thu, 01 Jan 1970 00:00:01 GMT",
    "thu, 1 jan 1970 00:00:01 UTC",
    "Mon, 04 Apr 2016 06:22:00 +0000 junk",
    "Tue, 27 Jun 2017 07:42:04 GMT+05:30",
  ]) {
    expectStatus(await call("GET", "/dates?info=volume", { headers: { date } }), 200, date);
  }
  expectStatus(await call("GET", "/dates?info=volume", { headers: { "x-ozone-version": "" } }), 200, "an empty version");
  expectStatus(await call("GET", "/dates?info=volume", { headers: { authorization: "OZONEhdfs" } }), 200, "no space needed");
  expectStatus(await call("GET", "/dates?info=volume", { headers: { authorization: "ozone hdfs" } }), 400, "case-sensitive OZONE");
  expectStatus(await call("POST", "/dates/b1", { headers: { "x-ozone-user": ["a", "b"] } }), 400, "x-ozone-user twice");
  const bucket = await call("GET", "/dates/");
  expectStatus(bucket, 200, "GET /v/ lists the volume's buckets");
  expectStatus(await call("POST", "/dates/trail"), 201, "bucket");
  expectStatus(await call("GET", "/dates/trail/"), 200, "GET /v/b/ lists its keys");
  assert.deepEqual(json(await call("GET", "/dates/trail/")).keyList, []);
  // Ozone-manager discovery: the gateway as the DATANODE REST endpoint.
  const services = (await (await fetch(`${cluster.ozoneOmUrl}/serviceList`)).json()) as { nodeType: string; ports: { HTTP: number } }[];
  assert.deepEqual(
    services.map((s) => [s.nodeType, s.ports.HTTP]),
    [["DATANODE", Number(new URL(cluster.ozoneUrl).port)]],
  );
  // Anyone may ask it (as an Ozone manager's), for that list only: nothing else is there, nothing is taken in.
  for (const [method, path] of [
    ["POST", "/serviceList"],
    ["PUT", "/serviceList"],
    ["GET", "/conf"],
    ["GET", "/serviceList/x"],
  ] as const) {
    const res = await fetch(`${cluster.ozoneOmUrl}${path}`, method === "GET" ? {} : { method, body: "x" });
    assert.equal(res.status, 404, `${method} ${path}`);
  }
});

/** A PUT whose client stops after 4 of the 10 bytes it announced (half-closing its side): Ozone's "incomplete body". */
function shortBody(base: string, path: string): Promise<OzoneAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `PUT ${path} HTTP/1.1\r\nHost: ${url.host}\r\nx-ozone-version: v1\r\nDate: ${new Date().toUTCString()}\r\nAuthorization: OZONE hdfs\r\nContent-Length: 10\r\n\r\nabcd`,
      );
      socket.end();
    });
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      const head = text.slice(0, text.indexOf("\r\n\r\n"));
      const headers: Record<string, string> = {};
      for (const line of head.split("\r\n").slice(1))
        headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      resolve({ status, headers, body, json: parsed });
    });
  });
}
