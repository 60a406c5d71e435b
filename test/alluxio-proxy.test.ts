import assert from "node:assert/strict";
import { test } from "node:test";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { basicAuth, s3Client } from "@koine/testkit/clients";

/** One request as alluxio-py 0.1.4 sends it: POST, a JSON body or none (and then no Content-Type). */
async function call(base: string, path: string, body?: unknown, method = "POST") {
  const json = body !== undefined && !(typeof body === "string" || Buffer.isBuffer(body));
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...basicAuth(), ...(json ? { "content-type": "application/json" } : {}) },
    ...(body === undefined ? {} : { body: json ? JSON.stringify(body) : (body as string | Buffer) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text, json: () => JSON.parse(text) as unknown };
}

const STATUS_KEYS = [
  "blockIds",
  "blockSizeBytes",
  "cacheable",
  "completed",
  "creationTimeMs",
  "lastModificationTimeMs",
  "fileBlockInfos",
  "fileId",
  "folder",
  "owner",
  "group",
  "inMemoryPercentage",
  "length",
  "name",
  "path",
  "ufsPath",
  "pinned",
  "persisted",
  "persistenceState",
  "mode",
  "mountPoint",
  "ttl",
  "ttlAction",
];

test("alluxio proxy - the alluxio-py example, request by request, then the same bytes through S3", async (t) => {
  const cluster = await bootCluster(t);
  const base = cluster.alluxioUrl;

  // create_directory('/py-test-dir/nested', CreateDirectory(recursive=True))
  let r = await call(base, "/api/v1/paths//py-test-dir/nested/create-directory", { recursive: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.type, "application/json");

  // open(py_test, 'w'): create-file (no options: no body) → stream id; two writes append; close.
  r = await call(base, "/api/v1/paths//py-test-dir/nested/py-test/create-file");
  assert.equal(r.status, 200, r.text);
  const writeId = r.json() as number;
  assert.ok(Number.isInteger(writeId));
  const first = "Alluxio works with Python!\n";
  const second = Buffer.from("#!/usr/bin/env python\n# the script itself\n".repeat(1000));
  r = await call(base, `/api/v1/streams/${writeId}/write`, first);
  assert.equal(r.json(), first.length);
  r = await call(base, `/api/v1/streams/${writeId}/write`, second);
  assert.equal(r.json(), second.length);
  r = await call(base, `/api/v1/streams/${writeId}/close`);
  assert.equal(r.status, 200);
  assert.equal(r.text, "");

  // get_status
  r = await call(base, "/api/v1/paths//py-test-dir/nested/py-test/get-status");
  const stat = r.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(stat).sort(), [...STATUS_KEYS].sort());
  assert.equal(stat.length, first.length + second.length);
  assert.equal(stat.path, "/py-test-dir/nested/py-test");
  assert.equal(stat.name, "py-test");
  assert.equal(stat.folder, false);
  assert.equal(stat.completed, true);
  assert.equal(typeof stat.mode, "number");

  // rename (no body), get-status of the new name
  r = await call(base, `/api/v1/paths//py-test-dir/nested/py-test/rename?dst=${encodeURIComponent("/py-test-dir/py-test-renamed")}`);
  assert.equal(r.status, 200, r.text);
  r = await call(base, "/api/v1/paths//py-test-dir/py-test-renamed/get-status");
  assert.equal((r.json() as { path: string }).path, "/py-test-dir/py-test-renamed");

  // open(py_test_renamed, 'r'): open-file → read → close
  r = await call(base, "/api/v1/paths//py-test-dir/py-test-renamed/open-file");
  const readId = r.json() as number;
  const read = await fetch(`${base}/api/v1/streams/${readId}/read`, { method: "POST", headers: basicAuth() });
  assert.equal(read.headers.get("content-type"), "application/octet-stream");
  assert.ok(Buffer.from(await read.arrayBuffer()).equals(Buffer.concat([Buffer.from(first), second])));
  assert.equal((await call(base, `/api/v1/streams/${readId}/close`, "null\n")).status, 200);

  // The same bytes through S3: on 9000 and under /api/v1/s3.
  for (const endpoint of [cluster.s3Url, `${base}/api/v1/s3`]) {
    const s3 = s3Client(endpoint);
    const got = await s3.send(new GetObjectCommand({ Bucket: "py-test-dir", Key: "py-test-renamed" }));
    assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(Buffer.concat([Buffer.from(first), second])), endpoint);
    s3.destroy();
  }
  // And an S3 object through the streams API.
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  await s3.send(new PutObjectCommand({ Bucket: "py-test-dir", Key: "from-s3.txt", Body: "written by S3" }));
  const fromS3 = (await call(base, "/api/v1/paths//py-test-dir/from-s3.txt/open-file")).json() as number;
  assert.equal(
    await (await fetch(`${base}/api/v1/streams/${fromS3}/read`, { method: "POST", headers: basicAuth() })).text(),
    "written by S3",
  );

  // list_status('/'): the root's children; Go appends "?" to every URL and sends "{}".
  r = await call(base, "/api/v1/paths///list-status?", {});
  const names = (r.json() as { name: string; folder: boolean }[]).map((s) => s.name);
  assert.ok(names.includes("py-test-dir"), names.join(","));

  // delete(py_test_root_dir, Delete(recursive=True)); exists → false
  assert.equal((await call(base, "/api/v1/paths//py-test-dir/delete", { recursive: true })).status, 200);
  r = await call(base, "/api/v1/paths//py-test-dir/exists");
  assert.equal(r.text, "false");

  // Errors are HTTP 500 with a gRPC status code.
  r = await call(base, "/api/v1/paths//nope/get-status");
  assert.equal(r.status, 500);
  assert.equal(r.type, "application/json");
  assert.equal((r.json() as { statusCode: string }).statusCode, "NOT_FOUND");
  await call(base, "/api/v1/paths//dir/create-directory");
  r = await call(base, "/api/v1/paths//dir/create-directory");
  assert.equal((r.json() as { statusCode: string }).statusCode, "ALREADY_EXISTS");
  r = await call(base, "/api/v1/paths//dir/set-attribute", { persisted: true });
  assert.equal((r.json() as { statusCode: string }).statusCode, "UNIMPLEMENTED");
  r = await call(base, "/api/v1/paths//dir/create-file", { writeType: "SOMETIMES" });
  assert.equal((r.json() as { statusCode: string }).statusCode, "INVALID_ARGUMENT");
  r = await call(base, "/api/v1/streams/424242/read");
  assert.equal((r.json() as { statusCode: string }).statusCode, "NOT_FOUND");
});

test("alluxio proxy - the alluxio-go example, request by request (JSON bodies, a trailing ?, null on close)", async (t) => {
  const cluster = await bootCluster(t);
  const base = cluster.alluxioUrl;
  /** As alluxio-go's client.go sends: every URL ends with "?", every body JSON with a newline. */
  const go = async (path: string, body: string, contentType = "application/json") => {
    const res = await fetch(`${base}${path}?`, { method: "POST", body, headers: { ...basicAuth(), "content-type": contentType } });
    assert.equal(res.headers.get("content-type")?.split(";").length, 1, "no parameters in Content-Type: alluxio-go refuses them");
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };

  let r = await go("/api/v1/paths//test_path/exists", "{}\n");
  assert.equal(r.type, "application/json");
  assert.equal(r.text, "false");

  r = await go("/api/v1/paths//test_path/create-file", "{}\n");
  const writeId = Number(r.text);
  r = await go(`/api/v1/streams/${writeId}/write`, "Success", "application/octet-stream");
  assert.equal(r.text, "7");
  r = await go(`/api/v1/streams/${writeId}/close`, "null\n");
  assert.equal(r.status, 200, r.text);

  r = await go("/api/v1/paths//test_path/exists", "{}\n");
  assert.equal(r.text, "true");
  r = await go("/api/v1/paths//test_path/open-file", "{}\n");
  const readId = Number(r.text);
  r = await go(`/api/v1/streams/${readId}/read`, "");
  assert.equal(r.type, "application/octet-stream");
  assert.equal(r.text, "Success");
  r = await go(`/api/v1/streams/${readId}/close`, "null\n");
  assert.equal(r.status, 200);

  // Run again, as the example does when the path exists: delete, then write anew.
  r = await go("/api/v1/paths//test_path/delete", "{}\n");
  assert.equal(r.status, 200, r.text);
  r = await go("/api/v1/paths//test_path/exists", "{}\n");
  assert.equal(r.text, "false");
});
