import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bootCluster, type LocalCluster } from "@koine/launcher";
import { tempDir } from "@koine/testkit";
import {
  adminCall,
  alluxioCall,
  type Caller,
  type Credentials,
  ozoneCall,
  signedRequest,
  streamCall,
  TEST_CREDENTIALS,
} from "@koine/testkit/clients";

/**
 * Who asks. The owner (alice) made every object; bob is in group "team";
 * mallory is a user with no part in them; koine is the admin.
 */
const WHO = {
  anonymous: "anonymous",
  owner: { accessKeyId: "alice", secretAccessKey: "alice-secret" },
  other: { accessKeyId: "mallory", secretAccessKey: "mallory-secret" },
  member: { accessKeyId: "bob", secretAccessKey: "bob-secret" },
  admin: TEST_CREDENTIALS,
} as const satisfies Record<string, Caller>;
type Who = keyof typeof WHO;

/**
 * What is asked about, all in alice's private bucket "matrix": a private
 * object, a public-read one, one granted to group "team" (all three put
 * through S3), and a file alice wrote through the Alluxio API (mode 0644:
 * readable by every signed-in user, as Alluxio makes it).
 */
const KINDS = ["private", "public", "granted", "alluxio"] as const;
type Kind = (typeof KINDS)[number];

const OPS = ["read", "list", "write", "delete", "rename", "setAcl", "chown", "mount", "adminJob"] as const;
type Op = (typeof OPS)[number];

const ALL = KINDS;
const NONE = [] as const;
const ownerAndAdmin = { anonymous: NONE, other: NONE, member: NONE, owner: ALL, admin: ALL };
const adminOnly = { anonymous: NONE, other: NONE, member: NONE, owner: NONE, admin: ALL };

/** The one table: on which kinds of object each caller may do each operation, in every dialect alike. */
const EXPECTED: Record<Op, Record<Who, readonly Kind[]>> = {
  read: { anonymous: ["public"], other: ["public", "alluxio"], member: ["public", "granted", "alluxio"], owner: ALL, admin: ALL },
  list: ownerAndAdmin,
  write: ownerAndAdmin,
  delete: ownerAndAdmin,
  rename: ownerAndAdmin,
  setAcl: ownerAndAdmin,
  chown: adminOnly,
  mount: adminOnly,
  adminJob: adminOnly,
};

/** Operations whose answer does not depend on the object: asked once, about the private one. */
const PER_BUCKET: readonly Op[] = ["list", "write", "mount", "adminJob"];

type Outcome = "allowed" | "denied" | string;

const KEY: Record<Kind, string> = { private: "private.txt", public: "public.txt", granted: "granted.txt", alluxio: "alluxio.txt" };
/** Each object's ACL headers and mode as made: what setAcl puts back unchanged. */
const ACL: Record<Kind, Record<string, string>> = {
  private: { "x-amz-acl": "private" },
  public: { "x-amz-acl": "public-read" },
  granted: { "x-amz-grant-read": 'id="group:team"' },
  alluxio: { "x-amz-acl": "private" },
};
const MODE: Record<Kind, number> = { private: 0o600, public: 0o600, granted: 0o600, alluxio: 0o644 };

function s3Outcome(status: number, body: string): Outcome {
  if (status >= 200 && status < 300) return "allowed";
  if (status === 403 && /<Code>AccessDenied<\/Code>/.test(body)) return "denied";
  return `${status} ${body.slice(0, 200)}`;
}

function alluxioOutcome(r: { status: number; code?: string; value: unknown }): Outcome {
  if (r.status === 200) return "allowed";
  if (r.code === "PERMISSION_DENIED" || r.code === "UNAUTHENTICATED") return "denied";
  return `${r.status} ${JSON.stringify(r.value)}`;
}

function adminOutcome(r: { status: number; json: Record<string, unknown> }): Outcome {
  if (r.status === 200) return "allowed";
  if (r.status === 401 || r.status === 403) return "denied";
  return `${r.status} ${JSON.stringify(r.json)}`;
}

/** An S3 request as `who`: signed by AWS's signer, or unsigned for anonymous. `base` is the gateway or the proxy's /api/v1/s3. */
async function s3(
  base: string,
  who: Caller,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; query?: Record<string, string> } = {},
) {
  const url = new URL(base);
  const fullPath = `${url.pathname.replace(/\/$/, "")}${path}`;
  if (who === "anonymous") {
    const q = new URLSearchParams(options.query ?? {}).toString();
    const res = await fetch(`${url.origin}${fullPath}${q ? `?${q.replace(/=$/, "").replace(/=&/g, "&")}` : ""}`, {
      method,
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    return { status: res.status, body: await res.text() };
  }
  const res = await signedRequest(url.origin, {
    method,
    path: fullPath,
    ...(options.query ? { query: options.query } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(who as Credentials),
  });
  return { status: res.status, body: res.body };
}

/** The ways one operation is asked in each dialect; a dialect without such an operation has none. */
type Ways = Partial<Record<string, (who: Who, kind: Kind) => Promise<Outcome>>>;

function waysOf(cluster: LocalCluster, mountable: string): Record<Op, Ways> {
  const gateways = { s3: cluster.s3Url, "s3 under the proxy": `${cluster.alluxioUrl}/api/v1/s3` };
  const alluxio = cluster.alluxioUrl;
  const byS3 = (make: (base: string, who: Who, kind: Kind) => Promise<{ status: number; body: string }>): Ways =>
    Object.fromEntries(
      Object.entries(gateways).map(([name, base]) => [
        name,
        async (who: Who, kind: Kind) => {
          const r = await make(base, who, kind);
          return s3Outcome(r.status, r.body);
        },
      ]),
    );
  const paths = (who: Who, kind: Kind, op: string) => `${KEY[kind]}.${op}-${who}`;
  return {
    read: {
      ...byS3((base, who, kind) => s3(base, WHO[who], "GET", `/matrix/${KEY[kind]}`)),
      "alluxio download-file": async (who, kind) => {
        const res = await fetch(`${alluxio}/api/v1/paths//matrix/${KEY[kind]}/download-file`, {
          headers: who === "anonymous" ? {} : { authorization: basic(WHO[who] as Credentials) },
        });
        if (res.status === 200) return "allowed";
        const answer = (await res.json()) as { statusCode?: string };
        return alluxioOutcome({ status: res.status, ...(answer.statusCode ? { code: answer.statusCode } : {}), value: answer });
      },
      "alluxio open-file + streams read": async (who, kind) => {
        const opened = await alluxioCall(alluxio, `/matrix/${KEY[kind]}/open-file`, undefined, WHO[who]);
        if (opened.status !== 200) return alluxioOutcome(opened);
        const read = await streamCall(alluxio, opened.value as number, "read", undefined, WHO[who]);
        return read.status === 200 ? "allowed" : `streams read ${read.status} ${await read.text()}`;
      },
      "ais GET": async (who, kind) => aisOutcome(await ais(cluster.aisUrl, WHO[who], "GET", `/v1/objects/matrix/${KEY[kind]}`)),
      "alluxio get-status": async (who, kind) =>
        alluxioOutcome(await alluxioCall(alluxio, `/matrix/${KEY[kind]}/get-status`, undefined, WHO[who])),
    },
    list: {
      ...byS3((base, who) => s3(base, WHO[who], "GET", "/matrix", { query: { "list-type": "2" } })),
      "alluxio list-status": async (who) => alluxioOutcome(await alluxioCall(alluxio, "/matrix/list-status", undefined, WHO[who])),
      // AIS's "easy URL": a GET of a bucket with no body lists its objects.
      "ais list objects": async (who) => aisOutcome(await ais(cluster.aisUrl, WHO[who], "GET", "/v1/buckets/matrix")),
      // The bucket is an Ozone volume: listing its buckets.
      "ozone list buckets": async (who) => ozoneOutcome(await ozone(cluster.ozoneUrl, WHO[who], "GET", "/matrix")),
    },
    write: {
      ...byS3((base, who, kind) => s3(base, WHO[who], "PUT", `/matrix/${paths(who, kind, `s3-${base.length}`)}`, { body: "new" })),
      "ais PUT": async (who, kind) =>
        aisOutcome(await ais(cluster.aisUrl, WHO[who], "PUT", `/v1/objects/matrix/${paths(who, kind, "ais")}`, "new")),
      // Into the Ozone bucket "ozone" alice made in her volume "matrix".
      "ozone put key": async (who, kind) =>
        ozoneOutcome(await ozone(cluster.ozoneUrl, WHO[who], "PUT", `/matrix/ozone/${paths(who, kind, "ozone")}`, "new")),
      "alluxio create-file + streams write": async (who, kind) => {
        const created = await alluxioCall(alluxio, `/matrix/${paths(who, kind, "alluxio")}/create-file`, {}, WHO[who]);
        if (created.status !== 200) return alluxioOutcome(created);
        await streamCall(alluxio, created.value as number, "write", "new", WHO[who]);
        const closed = await streamCall(alluxio, created.value as number, "close", undefined, WHO[who]);
        return closed.status === 200 ? "allowed" : `streams close ${closed.status} ${await closed.text()}`;
      },
    },
    delete: {
      ...byS3((base, who, kind) => s3(base, WHO[who], "DELETE", `/matrix/${KEY[kind]}`)),
      "ais DELETE": async (who, kind) => aisOutcome(await ais(cluster.aisUrl, WHO[who], "DELETE", `/v1/objects/matrix/${KEY[kind]}`)),
      "alluxio delete": async (who, kind) => alluxioOutcome(await alluxioCall(alluxio, `/matrix/${KEY[kind]}/delete`, {}, WHO[who])),
    },
    rename: {
      // Into a bucket of the caller's own (the attacker's loot), as the issue's intruder did.
      "alluxio rename": async (who, kind) =>
        alluxioOutcome(
          await alluxioCall(
            alluxio,
            `/matrix/${KEY[kind]}/rename?dst=${encodeURIComponent(`/loot-${who === "anonymous" ? "other" : who}/${KEY[kind]}`)}`,
            {},
            WHO[who],
          ),
        ),
    },
    setAcl: {
      // Each object's own ACL put back, and its own mode: a change of rights, changing nothing.
      ...byS3((base, who, kind) => s3(base, WHO[who], "PUT", `/matrix/${KEY[kind]}`, { query: { acl: "" }, headers: ACL[kind] })),
      "alluxio set-attribute mode": async (who, kind) =>
        alluxioOutcome(await alluxioCall(alluxio, `/matrix/${KEY[kind]}/set-attribute`, { mode: MODE[kind] }, WHO[who])),
    },
    chown: {
      "alluxio set-attribute owner": async (who, kind) =>
        alluxioOutcome(await alluxioCall(alluxio, `/matrix/${KEY[kind]}/set-attribute`, { owner: "alice" }, WHO[who])),
      "ozone update volume owner": async (who) =>
        ozoneOutcome(await ozone(cluster.ozoneUrl, WHO[who], "PUT", "/matrix", undefined, { "x-ozone-user": "alice" })),
    },
    mount: {
      "alluxio mount": async (who) =>
        alluxioOutcome(await alluxioCall(alluxio, `/mnt-alluxio-${who}/mount?src=${encodeURIComponent(mountable)}`, {}, WHO[who])),
      "admin API mount": async (who) =>
        adminOutcome(await adminCall(cluster.adminUrl, "POST", "/api/v1/mount", { path: `/mnt-admin-${who}`, ufs: mountable }, WHO[who])),
      // AIS's promote brings files of a target's host in, as a mount does (the gateway sends it on to a target, which decides).
      "ais promote": async (who) => {
        const src = fileURLToPath(mountable);
        const body = JSON.stringify({ action: "promote", name: src, value: { src, obj: `promoted-${who}`, rcr: true } });
        return aisOutcome(await ais(cluster.aisUrl, WHO[who], "POST", "/v1/objects/matrix", body));
      },
    },
    adminJob: {
      "admin API free": async (who) =>
        adminOutcome(await adminCall(cluster.adminUrl, "POST", "/api/v1/free", { paths: ["/matrix/private.txt"] }, WHO[who])),
      "admin API ttl": async (who) =>
        adminOutcome(await adminCall(cluster.adminUrl, "POST", "/api/v1/ttl", { path: "/matrix", time: "1h" }, WHO[who])),
      "ozone volume quota": async (who) => ozoneOutcome(await ozone(cluster.ozoneUrl, WHO[who], "PUT", "/matrix?quota=remove")),
      "ais start rebalance": async (who) =>
        aisOutcome(
          await ais(cluster.aisUrl, WHO[who], "PUT", "/v1/cluster", JSON.stringify({ action: "start", value: { Kind: "rebalance" } })),
        ),
    },
  };
}

/** An AIS request as `who` (koine credentials as Basic; AIS's bearer tokens are in test/ais-sdk.test.ts). */
async function ais(base: string, who: Caller, method: string, path: string, body?: string) {
  const res = await fetch(`${base}${path}?provider=ais`, {
    method,
    headers: who === "anonymous" ? {} : { authorization: basic(who) },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, body: await res.text() };
}

function aisOutcome(r: { status: number; body: string }): Outcome {
  if (r.status === 200 || r.status === 206) return "allowed";
  if (r.status === 401 || r.status === 403) return "denied";
  return `${r.status} ${r.body.slice(0, 200)}`;
}

/** An Ozone REST request as `who`: koine credentials as Basic in place of `OZONE <user>`, `OZONE` alone for anonymous. */
function ozone(base: string, who: Caller, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const authorization = who === "anonymous" ? "OZONE" : basic(who);
  return ozoneCall(base, method, path, { headers: { authorization, ...headers }, ...(body === undefined ? {} : { body }) });
}

function ozoneOutcome(r: { status: number; body: string }): Outcome {
  if (r.status === 200 || r.status === 201) return "allowed";
  if ((r.status === 401 || r.status === 403) && /"shortMessage":"(accessDenied|Unauthorized)"/.test(r.body)) return "denied";
  return `${r.status} ${r.body.slice(0, 200)}`;
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.accessKeyId}:${c.secretAccessKey}`).toString("base64")}`;
}

/** Makes (or makes again) alice's objects as the table describes them, and the callers' loot buckets. */
async function setUp(cluster: LocalCluster): Promise<void> {
  const alice = WHO.owner;
  const put = async (kind: Kind) => {
    if (kind === "alluxio") {
      await alluxioCall(cluster.alluxioUrl, `/matrix/${KEY[kind]}/delete`, {}, WHO.admin);
      const created = await alluxioCall(cluster.alluxioUrl, `/matrix/${KEY[kind]}/create-file`, {}, alice);
      assert.equal(created.status, 200, JSON.stringify(created.value));
      await streamCall(cluster.alluxioUrl, created.value as number, "write", "alluxio bytes", alice);
      assert.equal((await streamCall(cluster.alluxioUrl, created.value as number, "close", undefined, alice)).status, 200);
      return;
    }
    const r = await s3(cluster.s3Url, alice, "PUT", `/matrix/${KEY[kind]}`, { body: `${kind} bytes`, headers: ACL[kind] });
    assert.equal(r.status, 200, r.body);
  };
  for (const kind of KINDS) await put(kind);
}

test("access matrix - {anonymous, owner, other, group member, admin} x {S3, S3 under the proxy, Alluxio paths and streams, admin API, AIS, Ozone} x {read, list, write, delete, rename, ACL, chown, mount, admin jobs}", async (t) => {
  const cluster = await bootCluster(t, {
    users: [
      { accessKey: "koine", secretKey: "koinesecret", admin: true },
      { accessKey: "alice", secretKey: "alice-secret", groups: ["staff"] },
      { accessKey: "mallory", secretKey: "mallory-secret" },
      { accessKey: "bob", secretKey: "bob-secret", groups: ["team"] },
    ],
  });
  const mountable = pathToFileURL(await tempDir(t, "koine-matrix-mount-")).href;
  assert.equal((await s3(cluster.s3Url, WHO.owner, "PUT", "/matrix")).status, 200);
  for (const who of ["owner", "other", "member", "admin"] as const) {
    assert.equal((await s3(cluster.s3Url, WHO[who], "PUT", `/loot-${who}`)).status, 200);
  }
  await setUp(cluster);
  assert.equal((await ozone(cluster.ozoneUrl, WHO.owner, "POST", "/matrix/ozone")).status, 201, "alice's Ozone bucket in her volume");
  const ways = waysOf(cluster, mountable);

  const wrong: string[] = [];
  let cells = 0;
  for (const op of OPS) {
    for (const [dialect, ask] of Object.entries(ways[op])) {
      for (const who of Object.keys(WHO) as Who[]) {
        for (const kind of PER_BUCKET.includes(op) ? (["private"] as const) : KINDS) {
          const expected = EXPECTED[op][who].includes(kind) ? "allowed" : "denied";
          const outcome = await (ask as (who: Who, kind: Kind) => Promise<Outcome>)(who, kind);
          cells++;
          if (outcome !== expected) wrong.push(`${op} of ${kind} by ${who} through ${dialect}: expected ${expected}, got ${outcome}`);
          // What an allowed change did is undone, so that the next cell finds the table as described.
          if (outcome === "allowed" && (op === "delete" || op === "rename")) await setUp(cluster);
          if (outcome === "allowed" && op === "mount") {
            for (const at of [`/mnt-alluxio-${who}`, `/mnt-admin-${who}`])
              await alluxioCall(cluster.alluxioUrl, `${at}/unmount`, {}, WHO.admin);
          }
        }
      }
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${cells} cells wrong`);
  assert.ok(cells > 250, `${cells} cells asked`);
});

test("access matrix - the admin's mount power has limits: nothing outside the mount roots, no NUL, no unknown scheme", async (t) => {
  const cluster = await bootCluster(t);
  const mount = (ufs: string) => adminCall(cluster.adminUrl, "POST", "/api/v1/mount", { path: "/m", ufs });
  for (const ufs of ["file:///etc", "file:///", "file:///tmp/../etc", `${pathToFileURL(await tempDir(t, "koine-link-")).href}/../../etc`]) {
    const r = await mount(ufs);
    assert.ok(r.status === 403 || r.status === 400, `${ufs}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  assert.equal((await mount("file:///tmp/a%00b")).status, 400);
  assert.equal((await mount("gopher://example.com/x")).status, 400);
  // Through the proxy's mount as well, whoever asks.
  const viaProxy = await alluxioCall(cluster.alluxioUrl, `/etc-view/mount?src=${encodeURIComponent("file:///etc")}`, {});
  assert.equal(viaProxy.code, "PERMISSION_DENIED", JSON.stringify(viaProxy.value));
  const mounted = (await adminCall(cluster.adminUrl, "GET", "/api/v1/mount")).json.results as { path: string }[];
  assert.deepEqual(
    mounted.map((m) => m.path).filter((p) => p !== "/"),
    [],
    "nothing was mounted",
  );
});
