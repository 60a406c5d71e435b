import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { test } from "node:test";

import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { basicAuth, s3Client, signedRequest, TEST_CREDENTIALS } from "@koine/testkit/clients";

/** How long a hostile request may go unanswered before it counts as hung. */
const ANSWER_MS = 10_000;
/** A name no request may ever create outside the under-store. */
const ESCAPED = `hostile-escape-${randomBytes(4).toString("hex")}`;

interface Answer {
  /** The HTTP status, undefined when the server closed the connection without one. */
  status: number | undefined;
  body: string;
  hung: boolean;
}

/** Sends `bytes` as they are on a fresh connection, which stays open; the first answer (or the server's close). */
function raw(port: number, bytes: string | Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (hung: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status ? Number(status) : undefined, body: text.slice(text.indexOf("\r\n\r\n") + 4), hung });
    };
    const timer = setTimeout(() => finish(true), ANSWER_MS);
    socket.on("data", (c: Buffer) => {
      data = Buffer.concat([data, c]);
      const text = data.toString("latin1");
      const head = text.indexOf("\r\n\r\n");
      if (head < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head))?.[1];
      const chunkedDone = /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, head)) && text.endsWith("0\r\n\r\n");
      if ((length !== undefined && data.length >= head + 4 + Number(length)) || chunkedDone) finish(false);
    });
    socket.on("end", () => finish(false));
    socket.on("close", () => finish(false));
    socket.on("error", () => finish(false));
    socket.write(bytes);
  });
}

/** A request line, headers and body, framed as HTTP/1.1 with a Content-Length. */
function http(method: string, target: string, body = "", headers: Record<string, string> = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", `Content-Length: ${Buffer.byteLength(body)}`];
  // The Alluxio and admin APIs' requests come as an admin's, so that what is hostile in them reaches their handlers.
  if (target.startsWith("/api/v1/") && !target.startsWith("/api/v1/s3")) lines.push(`Authorization: ${basicAuth().authorization}`);
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}

const deepJson = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const deepXml = (root: string, depth: number) => `<${root}>${"<a>".repeat(depth)}${"</a>".repeat(depth)}</${root}>`;
const laughs = (root: string) =>
  `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
  `<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><${root}><Object><Key>&lol3;</Key></Object></${root}>`;

/** Paths that try to leave a bucket or mount, in the spellings each layer might decode. */
const TRAVERSALS = [
  `../../${ESCAPED}`,
  `..%2f..%2f${ESCAPED}`,
  `%2e%2e/%2e%2e/${ESCAPED}`,
  `%252e%252e/%252e%252e/${ESCAPED}`,
  `..\\..\\${ESCAPED}`,
  `.%2e/.%2e/${ESCAPED}`,
  `%c0%ae%c0%ae/${ESCAPED}`,
  `a/%00/${ESCAPED}`,
  `../../../../../../etc/passwd`,
  `%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
];

const FRAMING = [
  "GET\r\n\r\n",
  "GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
  "GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nx",
  `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-Bomb-${i}: ${i}`).join("\r\n")}\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(100_000)}\r\n\r\n`,
  "GET / HTTP/1.1\r\nHost: x\r\nX-Bad\x01Name: y\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: x\r\nFolded: a\r\n  b\r\n\r\n",
  "GET /%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET /%C0%AF%FF HTTP/1.1\r\nHost: x\r\n\r\n",
  "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=\x7f\r\n\r\n",
];

test("hostile input - over 300 malformed and hostile requests on every port: all answered, no 500, nothing escapes, all alive", async (t) => {
  const cluster = await bootCluster(t, { remoteCacheNodes: true, alluxioStreams: { maxStreamsPerClient: 32 } });
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: "bkt" }));
  await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: "keep", Body: "kept" }));
  await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: "alive", Body: "untouched" }));
  // A key that holds the marker and stays (traversal keys that are valid names may be deleted again by the Alluxio cases,
  // which run beside them): what shows that the check below can see the marker in the under-store.
  await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: `seen/${ESCAPED}`, Body: "marker" }));
  const portOf = (url: string) => Number(new URL(url).port);
  const ports = {
    s3: portOf(cluster.s3Url),
    alluxio: portOf(cluster.alluxioUrl),
    admin: portOf(cluster.adminUrl),
    cache: portOf((cluster.cacheNodes[0] as { url: string }).url),
  };
  const signed = (method: string, path: string, body: string, query: Record<string, string> = {}) =>
    signedRequest(cluster.s3Url, { method, path, query, body, ...TEST_CREDENTIALS }).then(
      (r): Answer => ({ status: r.status, body: r.body, hung: false }),
      (): Answer => ({ status: undefined, body: "", hung: false }),
    );

  const cases: { name: string; port: keyof typeof ports; send: () => Promise<Answer> }[] = [];
  const add = (port: keyof typeof ports, name: string, send: () => Promise<Answer>) => cases.push({ name, port, send });

  // Framing, header bombs and invalid encodings, on every port.
  for (const port of Object.keys(ports) as (keyof typeof ports)[]) {
    for (const [i, bytes] of FRAMING.entries()) add(port, `framing ${i}`, () => raw(ports[port], bytes));
  }
  // Traversal in every dialect's path.
  for (const path of TRAVERSALS) {
    add("s3", `s3 GET ${path}`, () => raw(ports.s3, http("GET", `/bkt/${path}`)));
    add("s3", `s3 PUT ${path}`, () => signed("PUT", `/bkt/${path}`, "escape"));
    add("s3", `s3 copy from ${path}`, () => raw(ports.s3, http("PUT", "/bkt/copy", "", { "x-amz-copy-source": `/bkt/${path}` })));
    for (const op of ["get-status", "list-status", "create-directory", "delete", "exists"]) {
      add("alluxio", `alluxio ${op} ${path}`, () => raw(ports.alluxio, http("POST", `/api/v1/paths/bkt/${path}/${op}`)));
    }
    add("alluxio", `alluxio download ${path}`, () => raw(ports.alluxio, http("GET", `/api/v1/paths/bkt/${path}/download-file`)));
    add("alluxio", `alluxio rename to ${path}`, () => raw(ports.alluxio, http("POST", `/api/v1/paths/bkt/keep/rename?dst=/bkt/${path}`)));
    add("alluxio", `alluxio s3 ${path}`, () => raw(ports.alluxio, http("GET", `/api/v1/s3/bkt/${path}`)));
    add("admin", `admin load ${path}`, () =>
      raw(ports.admin, http("POST", "/api/v1/load", JSON.stringify({ paths: [`/bkt/${path}`] }), { "content-type": "application/json" })),
    );
    add("admin", `admin mount ${path}`, () =>
      raw(
        ports.admin,
        http("POST", "/api/v1/mount", JSON.stringify({ path: `/m${cases.length}`, ufs: `file:///tmp/${path}` }), {
          "content-type": "application/json",
        }),
      ),
    );
    add("cache", `cache read ${path}`, () =>
      raw(
        ports.cache,
        http("GET", `/data?contentId=0123456789abcdef&mountId=root&path=/bkt/${path}&fingerprint=f&fileSize=5&offset=0&length=5`),
      ),
    );
    add("cache", `cache write ${path}`, () =>
      raw(ports.cache, http("PUT", `/data?mountId=root&path=/bkt/${path}&contentId=0123456789abcdef&blockSize=1048576&stage=false`, "x")),
    );
  }
  // XML and JSON bombs, deep nesting, oversized bodies.
  for (const [root, path, query] of [
    ["Delete", "/bkt", { delete: "" }],
    ["Tagging", "/bkt/keep", { tagging: "" }],
    ["CreateBucketConfiguration", "/newbkt", {}],
  ] as const) {
    add("s3", `s3 laughs ${root}`, () => signed(root === "Delete" ? "POST" : "PUT", path, laughs(root), query));
    add("s3", `s3 deep ${root}`, () => signed(root === "Delete" ? "POST" : "PUT", path, deepXml(root, 20_000), query));
  }
  for (const op of ["create-file", "set-attribute", "list-status", "create-directory"]) {
    add("alluxio", `alluxio deep json ${op}`, () => raw(ports.alluxio, http("POST", `/api/v1/paths/bkt/j/${op}`, deepJson(100_000))));
    add("alluxio", `alluxio big json ${op}`, () =>
      raw(ports.alluxio, http("POST", `/api/v1/paths/bkt/j/${op}`, JSON.stringify({ owner: "o".repeat(2 * 1024 * 1024) }))),
    );
  }
  for (const endpoint of ["/api/v1/load", "/api/v1/free", "/api/v1/mount", "/api/v1/ttl", "/api/v1/cache-filter", "/api/v1/file_index"]) {
    const json = { "content-type": "application/json" };
    add("admin", `admin deep json ${endpoint}`, () => raw(ports.admin, http("POST", endpoint, deepJson(100_000), json)));
    add("admin", `admin big json ${endpoint}`, () => raw(ports.admin, http("POST", endpoint, `"${"x".repeat(3 * 1024 * 1024)}"`, json)));
    add("admin", `admin not json ${endpoint}`, () => raw(ports.admin, http("POST", endpoint, "{'no", json)));
  }
  add("cache", "cache concat deep json", () =>
    raw(ports.cache, http("POST", "/concat", deepJson(100_000), { "content-type": "application/json" })),
  );
  // Absurd numbers.
  for (const [name, query] of [
    ["max-keys", { "list-type": "2", "max-keys": "-1" }],
    ["max-keys huge", { "list-type": "2", "max-keys": "1e400" }],
    ["part number", { uploadId: "x", partNumber: "1e20" }],
    ["bad upload id", { uploadId: "../../etc" }],
    ["versionId", { versionId: "\u0000" }],
  ] as const) {
    add("s3", `s3 absurd ${name}`, () =>
      signedRequest(cluster.s3Url, { method: "GET", path: "/bkt", query, ...TEST_CREDENTIALS }).then((r) => ({
        status: r.status,
        body: r.body,
        hung: false,
      })),
    );
  }
  for (const range of ["bytes=999999999999999999999-", "bytes=-0", "bytes=5-1", "bytes=0-1,2-3,4-5", "lines=0-1"]) {
    add("s3", `s3 range ${range}`, () => raw(ports.s3, http("GET", "/bkt/keep", "", { Range: range })));
  }
  for (const options of [{ ttl: 1e308 }, { mode: -1 }, { recursive: "yes" }, { writeType: 42 }, { syncIntervalMs: -5 }]) {
    add("alluxio", `alluxio absurd ${JSON.stringify(options)}`, () =>
      raw(ports.alluxio, http("POST", "/api/v1/paths/bkt/keep/set-attribute", JSON.stringify(options))),
    );
  }
  for (const id of ["-1", "1e400", "99999999999999999999", "0x10", "%00"]) {
    add("alluxio", `alluxio stream ${id}`, () => raw(ports.alluxio, http("POST", `/api/v1/streams/${id}/write`, "x".repeat(1024 * 1024))));
  }
  for (const q of ["offset=1e300", "length=-1", "fileSize=abc", `offset=${2 ** 60}`]) {
    add("cache", `cache absurd ${q}`, () =>
      raw(
        ports.cache,
        http("GET", `/data?contentId=0123456789abcdef&mountId=root&path=/bkt/keep&fingerprint=f&fileSize=4&offset=0&length=4&${q}`),
      ),
    );
  }
  for (const q of ["id=%00", "index=1e400", "lastKey=%FF&count=-1"]) {
    add("admin", `admin absurd ${q}`, () => raw(ports.admin, http("GET", `/api/v1/load?${q}`)));
  }

  // Health and metrics endpoints: open to anyone (probes and scrapers carry no credentials), read-only, no input.
  for (const [port, prefix] of [
    ["s3", "/_koine"],
    ["alluxio", ""],
    ["admin", ""],
  ] as const) {
    for (const request of [
      http("POST", `${prefix}/readyz`, "{}"),
      http("PUT", `${prefix}/healthz`, "x"),
      http("GET", `${prefix}/readyz?%ZZ=${"q".repeat(10_000)}`),
      http("GET", `${prefix}/readyz/../../etc/passwd`),
      http("DELETE", `${prefix}/metrics`),
      http("GET", `${prefix}/metrics?name[]=${"x".repeat(5000)}`),
    ]) {
      add(port, `health ${request.split("\r\n")[0]?.slice(0, 40)}`, () => raw(ports[port], request));
    }
  }

  // An idle stream flood on the Alluxio proxy: bounded per client, answered, never fatal.
  for (let i = 0; i < 40; i++)
    add("alluxio", `idle stream ${i}`, () => raw(ports.alluxio, http("POST", `/api/v1/paths/bkt/flood${i}/create-file`)));

  // Slowloris: connections that dribble their headers, while everything above runs.
  const slow: Socket[] = [];
  for (const port of Object.values(ports)) {
    for (let i = 0; i < 10; i++) {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => {});
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
      slow.push(socket);
    }
  }
  const dribble = setInterval(() => {
    for (const s of slow) if (!s.destroyed) s.write(`X-Slow-${Date.now()}: 1\r\n`);
  }, 500);

  const failures: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < cases.length; i += 8) {
    const batch = cases.slice(i, i + 8);
    const answers = await Promise.all(batch.map((c) => c.send()));
    for (const [j, answer] of answers.entries()) {
      const c = batch[j] as (typeof cases)[number];
      const key = `${c.port} ${answer.status ?? "closed"}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      const why = judge(c.port, answer);
      if (why) failures.push(`${c.port} ${c.name}: ${why}`);
    }
  }
  clearInterval(dribble);
  for (const s of slow) s.destroy();

  console.log(`hostile input: ${cases.length} requests; answers by port and status`, Object.fromEntries([...seen].sort()));
  assert.ok(cases.length >= 300, `${cases.length} requests`);
  assert.deepEqual(failures, []);

  // What a stranger learns from a probe: readiness and nothing else.
  for (const url of [`${cluster.s3Url}/_koine/readyz`, `${cluster.alluxioUrl}/readyz`, `${cluster.adminUrl}/readyz`]) {
    assert.deepEqual(await fetch(url).then((r) => r.json()), { ready: true, metadata: true, cacheNodes: 1 }, url);
  }
  // Another method is no probe: the S3 dialect answers it with its own error, changing nothing.
  const posted = await fetch(`${cluster.s3Url}/_koine/readyz`, { method: "POST" });
  assert.ok(posted.status >= 400 && (await posted.text()).includes("<Error>"), `POST answered ${posted.status}`);
  // Every service still serves.
  assert.ok((await s3.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === "bkt"));
  assert.equal(
    await fetch(`${cluster.alluxioUrl}/api/v1/paths/bkt/alive/exists`, { method: "POST", headers: basicAuth() }).then((r) => r.text()),
    "true",
  );
  assert.equal((await fetch(`${cluster.adminUrl}/api/v1/nodes`, { headers: basicAuth() })).status, 200);
  assert.equal((await fetch(`${(cluster.cacheNodes[0] as { url: string }).url}/healthz`)).status, 200);
  // Nothing was written outside the under-store: the marker name is nowhere in the cluster's home but below ufs/,
  // nor beside it, nor at the root of the machine.
  const ufs = join(cluster.home, "ufs");
  const below = (await readdir(cluster.home, { recursive: true })).map((p) => join(cluster.home, String(p)));
  const beside = [dirname(cluster.home), "/", "/tmp", "/etc"].flatMap((dir) => readdirSync(dir).map((p) => join(dir, p)));
  const outside = [...below, ...beside].filter((p) => p.includes(ESCAPED) && !p.startsWith(`${ufs}/`));
  assert.deepEqual(outside, []);
  assert.ok(
    below.some((p) => p.includes(ESCAPED)),
    "the check can see the marker: some names holding it are bytes of keys",
  );
  // Connections cut off mid-body by an early answer are closed, not left behind: the services stop at once.
  s3.destroy();
  const stopping = Date.now();
  await cluster.stop();
  assert.ok(Date.now() - stopping < 4_000, `stopped in ${Date.now() - stopping} ms`);
});

/** Why an answer is wrong, or undefined when it is one a dialect may give. */
function judge(port: string, answer: Answer): string | undefined {
  if (answer.hung) return "no answer";
  if (answer.body.includes("root:x:0:0")) return "served /etc/passwd";
  if (answer.status === undefined || answer.status < 500) return undefined;
  if (answer.status === 501 || answer.status === 503) return undefined; // not implemented; unavailable, retry
  // The Alluxio proxy answers every error 500 with its gRPC code: INTERNAL is the one that means a bug.
  if (port === "alluxio" && answer.status === 500 && !/"statusCode":"INTERNAL"/.test(answer.body) && /"statusCode"/.test(answer.body)) {
    return undefined;
  }
  return `${answer.status} ${answer.body.slice(0, 200)}`;
}
