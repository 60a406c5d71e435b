import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { alluxioRead, s3Client, TEST_CREDENTIALS } from "@koine/testkit/clients";

const run = promisify(execFile);
const CLIENTS = join(import.meta.dirname, "..", "..", "shared", "clients");

/** The stock AIS SDK's import path (its README's set-up), or why it cannot be imported here. */
async function sdkPath(): Promise<{ path: string } | { reason: string }> {
  if (!existsSync(join(CLIENTS, "aistore"))) return { reason: `the stock clients are not here (${CLIENTS})` };
  try {
    const script = join(CLIENTS, "setup-python-clients.sh");
    const { stdout: path } = await run("bash", ["-c", `eval "$(bash '${script}')" && printf %s "$PYTHONPATH"`], { timeout: 120_000 });
    if (!path) return { reason: "setup-python-clients.sh set no PYTHONPATH" };
    await run("python3", ["-c", "from aistore.sdk import Client"], { env: { ...process.env, PYTHONPATH: path } });
    return { path };
  } catch (err) {
    return { reason: `the AIS Python SDK cannot be imported (${(err as Error).message.split("\n")[0]})` };
  }
}
const sdk = await sdkPath();

const SCRIPT = `
import os, sys
from aistore.sdk import Client
from aistore.sdk.authn import AuthNClient
from aistore.sdk.errors import AISError, ErrBckAlreadyExists, ErrBckNotFound, ErrObjNotFound
url = sys.argv[1]
token = AuthNClient(url).login("koine", "koinesecret")
client = Client(url, token=token)
assert client.cluster().is_ready()
bck = client.bucket("aisb")
bck.create()
try:
    bck.create()
    raise SystemExit("a second create should fail")
except ErrBckAlreadyExists:
    pass
data = {}
for i in range(25):
    name = f"dir/o{i:03d}"
    data[name] = os.urandom(i * 4099 + 1)
    bck.object(name).get_writer().put_content(data[name])
big = os.urandom(5 * 1024 * 1024 + 17)
bck.object("big.bin").get_writer().put_content(big)
assert bck.object("big.bin").get_reader().read_all() == big
assert bck.object("dir/o007").get_reader().read_all() == data["dir/o007"]
assert bck.object("big.bin").get_reader(byte_range="bytes=1000-1999").read_all() == big[1000:2000]
head = bck.object("big.bin").head()
assert int(head["content-length"]) == len(big), head
assert head["ais-present"] == "true", head
names = [e.name for e in bck.list_all_objects(page_size=7)]
assert names == ["big.bin"] + sorted(data), names
page = bck.list_objects(page_size=10, prefix="dir/")
assert [e.name for e in page.entries] == sorted(data)[:10] and page.continuation_token != ""
entry = page.entries[0]
assert entry.size == len(data[entry.name]) and entry.is_cached(), entry
assert [b.name for b in client.cluster().list_buckets()] == ["aisb"]
try:
    client.bucket("nope").list_objects()
    raise SystemExit("a missing bucket should fail")
except ErrBckNotFound:
    pass
try:
    client.bucket("nope").head()  # a HEAD carries its error in Hdr-Error: the SDK sees only the status, as with AIS
    raise SystemExit("a missing bucket should fail")
except AISError as e:
    assert e.status_code == 404, e
try:
    bck.object("missing").get_reader().read_all()
    raise SystemExit("a missing object should fail")
except ErrObjNotFound:
    pass
bck.object("dir/o000").delete()
try:
    bck.object("dir/o000").head()
    raise SystemExit("a deleted object should be gone")
except (ErrObjNotFound, AISError):
    pass
try:
    Client(url).bucket("aisb").object("dir/o001").get_reader().read_all()
    raise SystemExit("no token, no bytes of a private bucket")
except AISError as e:
    assert e.status_code in (401, 403), e
print("ais sdk ok")
`;

test("AIS - the stock Python SDK: AuthN login, buckets, objects (whole, ranged, 5 MiB), HEAD, paged listings (msgpack), errors, delete; the bytes read through S3 and Alluxio", {
  skip: "reason" in sdk ? sdk.reason : false,
}, async (t) => {
  const cluster = await bootCluster(t, { cacheNodes: 2, remoteCacheNodes: true });
  const { stdout, stderr } = await run("python3", ["-c", SCRIPT, cluster.aisUrl], {
    env: { ...process.env, PYTHONPATH: (sdk as { path: string }).path },
    timeout: 180_000,
  }).catch((err: { stdout: string; stderr: string }) => {
    throw new Error(`the SDK script failed:\n${err.stdout}\n${err.stderr}`);
  });
  assert.match(stdout, /ais sdk ok/, stderr);

  // The same bytes through the other dialects, and the other way round.
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const viaS3 = await s3.send(new GetObjectCommand({ Bucket: "aisb", Key: "dir/o003" }));
  assert.equal((await viaS3.Body?.transformToByteArray())?.length, 3 * 4099 + 1);
  await s3.send(new PutObjectCommand({ Bucket: "aisb", Key: "from-s3", Body: "written by S3" }));
  const got = await fetch(`${cluster.aisUrl}/v1/objects/aisb/from-s3?provider=ais`, {
    headers: {
      authorization: `Basic ${Buffer.from(`${TEST_CREDENTIALS.accessKeyId}:${TEST_CREDENTIALS.secretAccessKey}`).toString("base64")}`,
    },
  });
  assert.equal(await got.text(), "written by S3");
  assert.equal((await alluxioRead(cluster.alluxioUrl, "/aisb/dir/o004")).length, 4 * 4099 + 1);
});

test("AIS - strangers and bad input: a wrong password, a forged token, no credentials, bad names, bad JSON, a bad range, an unknown path", async (t) => {
  const cluster = await bootCluster(t);
  const base = cluster.aisUrl;
  const basic = `Basic ${Buffer.from(`${TEST_CREDENTIALS.accessKeyId}:${TEST_CREDENTIALS.secretAccessKey}`).toString("base64")}`;
  const ask = async (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: basic, ...init.headers },
      ...(init.body ? { body: init.body } : {}),
    });
    const text = await res.text();
    return { status: res.status, message: text ? (JSON.parse(text) as { message: string }).message : "" };
  };
  const login = (password: string) =>
    fetch(`${base}/v1/users/koine`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password }),
    });
  assert.equal((await login("not-the-secret")).status, 401);
  const token = ((await (await login(TEST_CREDENTIALS.secretAccessKey)).json()) as { token: string }).token;
  assert.equal(
    (await ask("POST", "/v1/buckets/b?provider=ais", { body: '{"action":"create-bck"}', headers: { authorization: `Bearer ${token}` } }))
      .status,
    200,
  );
  assert.equal((await ask("PUT", "/v1/objects/b/k?provider=ais", { body: "bytes" })).status, 200);
  const forged = `${token.split(".")[0]}.${"A".repeat(43)}`;
  assert.equal((await ask("GET", "/v1/objects/b/k", { headers: { authorization: `Bearer ${forged}` } })).status, 401);
  assert.equal((await fetch(`${base}/v1/objects/b/k`)).status, 403, "no credentials: the bucket is private");

  assert.equal((await ask("POST", "/v1/buckets/bad%20name?provider=ais", { body: '{"action":"create-bck"}' })).status, 400);
  assert.equal((await ask("POST", "/v1/buckets/b2?provider=ais", { body: "{not json" })).status, 400);
  assert.equal((await ask("GET", "/v1/objects/b/..%2Fescape")).status, 400);
  const range = await fetch(`${base}/v1/objects/b/k`, { headers: { authorization: basic, range: "bytes=10-20" } });
  assert.deepEqual([range.status, range.headers.get("content-range")], [416, "bytes */5"]);
  assert.equal((await ask("GET", "/v1/objects/b/k?provider=gcp")).status, 501);
  assert.deepEqual(await ask("GET", "/v1/download"), { status: 501, message: "GET /v1/download is not implemented" });
  const kept = await fetch(`${base}/v1/objects/b/k`, { headers: { authorization: basic } });
  assert.equal(await kept.text(), "bytes", "nothing above changed the object");
});
