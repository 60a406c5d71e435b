import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { bootCluster } from "@koine/launcher";
import { tempDir, testTls } from "@koine/testkit";
import { TEST_CREDENTIALS } from "@koine/testkit/clients";
import { Agent, fetch as undiciFetch } from "undici";

const run = promisify(execFile);

async function has(command: string, args: string[]): Promise<boolean> {
  try {
    await run(command, args, { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** awscli's and boto3's environment: the test's keys, and the test's CA for https. */
function clientEnv(caFile: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_CA_BUNDLE: caFile,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  };
}

const hasAws = await has("aws", ["--version"]);
const hasBoto3 = await has("python3", ["-c", "import boto3"]);

test("awscli - s3 cp/ls/rm/sync/presign and s3api, 100 MiB multipart, over https", {
  skip: hasAws ? false : "awscli is not installed",
}, async (t) => {
  const { tls, caFile } = await testTls(t);
  const cluster = await bootCluster(t, { tls });
  assert.match(cluster.s3Url, /^https:/);
  const dir = await tempDir(t);
  const env = clientEnv(caFile);
  const aws = async (...args: string[]) =>
    (await run("aws", ["--endpoint-url", cluster.s3Url, ...args], { env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 })).stdout;

  const small = randomBytes(1024);
  const big = randomBytes(100 * 1024 * 1024);
  await writeFile(join(dir, "small"), small);
  await writeFile(join(dir, "big"), big);

  await aws("s3", "mb", "s3://cli");
  await aws("s3", "cp", join(dir, "small"), "s3://cli/dir/small");
  await aws("s3", "cp", join(dir, "big"), "s3://cli/dir/big"); // multipart: 8 MiB parts
  const ls = await aws("s3", "ls", "s3://cli/dir/");
  assert.match(ls, /1024 small/);
  assert.match(ls, /104857600 big/);
  await aws("s3", "cp", "s3://cli/dir/big", join(dir, "big.back"));
  assert.ok((await readFile(join(dir, "big.back"))).equals(big));

  const head = JSON.parse(await aws("s3api", "head-object", "--bucket", "cli", "--key", "dir/big"));
  assert.match(head.ETag, /-13"$/);
  await aws("s3api", "put-object", "--bucket", "cli", "--key", "api/obj", "--body", join(dir, "small"), "--metadata", "k=v");
  const got = JSON.parse(
    await aws("s3api", "get-object", "--bucket", "cli", "--key", "api/obj", "--range", "bytes=10-19", join(dir, "range")),
  );
  assert.equal(got.ContentRange, "bytes 10-19/1024");
  assert.ok((await readFile(join(dir, "range"))).equals(small.subarray(10, 20)));
  assert.equal(got.Metadata.k, "v");
  const listed = JSON.parse(await aws("s3api", "list-objects-v2", "--bucket", "cli", "--delimiter", "/"));
  assert.deepEqual(
    listed.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix),
    ["api/", "dir/"],
  );
  await assert.rejects(aws("s3api", "get-object", "--bucket", "cli", "--key", "nope", join(dir, "x")), /NoSuchKey/);

  // `aws s3 presign` makes SigV2 URLs by default (awscli v1), SigV4 when asked.
  const presigned = (await aws("s3", "presign", "s3://cli/api/obj")).trim();
  // Node's fetch, trusting the test's CA.
  const fetch = (url: string) => undiciFetch(url, { dispatcher: new Agent({ connect: { ca: tls.ca } }) });
  const fetched = await fetch(presigned);
  assert.equal(fetched.status, 200, presigned);
  assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(small));
  const shortLived = (await aws("s3", "presign", "s3://cli/api/obj", "--expires-in", "1")).trim();
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await fetch(shortLived)).status, 403);
  const tampered = presigned.replace("api/obj", "dir/small");
  assert.equal((await fetch(tampered)).status, 403);

  // Tagging, copy, sync, multi-delete.
  await aws("s3api", "put-object-tagging", "--bucket", "cli", "--key", "api/obj", "--tagging", "TagSet=[{Key=team,Value=data}]");
  const tags = JSON.parse(await aws("s3api", "get-object-tagging", "--bucket", "cli", "--key", "api/obj"));
  assert.deepEqual(tags.TagSet, [{ Key: "team", Value: "data" }]);
  await aws("s3api", "copy-object", "--bucket", "cli", "--key", "api/copy", "--copy-source", "cli/api/obj");
  const tree = join(dir, "tree");
  await mkdir(join(tree, "sub"), { recursive: true });
  await writeFile(join(tree, "one"), "1");
  await writeFile(join(tree, "sub", "two"), "2");
  await aws("s3", "sync", tree, "s3://cli/tree");
  await writeFile(join(tree, "sub", "three"), "3");
  const second = await aws("s3", "sync", tree, "s3://cli/tree");
  assert.match(second, /upload: .*three/);
  assert.doesNotMatch(second, /upload: .*one/, "sync sends only what changed");
  const deleted = JSON.parse(
    await aws(
      "s3api",
      "delete-objects",
      "--bucket",
      "cli",
      "--delete",
      JSON.stringify({ Objects: [{ Key: "tree/one" }, { Key: "api/copy" }] }),
    ),
  );
  assert.equal(deleted.Deleted.length, 2);

  await aws("s3", "rm", "--recursive", "s3://cli/");
  assert.equal(JSON.parse(await aws("s3api", "list-objects-v2", "--bucket", "cli")).Contents, undefined);
  await aws("s3", "rb", "s3://cli");
});

const BOTO3_SCRIPT = `
import boto3, hashlib, io, os, sys
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
s3.create_bucket(Bucket="boto")
data = os.urandom(100 * 1024 * 1024)
s3.put_object(Bucket="boto", Key="a/one", Body=b"x" * 1000)
s3.upload_fileobj(io.BytesIO(data), "boto", "a/big")  # multipart above 8 MiB
assert s3.get_object(Bucket="boto", Key="a/big")["Body"].read() == data
assert s3.get_object(Bucket="boto", Key="a/big", Range="bytes=5-9")["Body"].read() == data[5:10]
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="boto", PaginationConfig={"PageSize": 1}) for o in p.get("Contents", [])]
assert keys == ["a/big", "a/one"], keys
s3.copy_object(Bucket="boto", Key="b/copy", CopySource={"Bucket": "boto", "Key": "a/one"})
try:
    s3.delete_bucket(Bucket="boto")
    raise SystemExit("delete_bucket should fail")
except ClientError as e:
    assert e.response["Error"]["Code"] == "BucketNotEmpty", e.response
import ssl, urllib.request
tls = ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"])  # the test's CA
url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "a/one"}, ExpiresIn=600)
assert url.startswith("https://"), url
assert urllib.request.urlopen(url, context=tls).read() == b"x" * 1000, url
put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "boto", "Key": "b/by-url"}, ExpiresIn=600)
import http.client, urllib.parse
u = urllib.parse.urlsplit(put_url)
conn = http.client.HTTPSConnection(u.netloc, context=tls)
conn.request("PUT", u.path + "?" + u.query, body=b"uploaded by url")  # no Content-Type: it is signed (empty)
assert conn.getresponse().status == 200
assert s3.get_object(Bucket="boto", Key="b/by-url")["Body"].read() == b"uploaded by url"
s3.put_object_tagging(Bucket="boto", Key="a/one", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
assert s3.get_object_tagging(Bucket="boto", Key="a/one")["TagSet"] == [{"Key": "k", "Value": "v"}]
s3.delete_object(Bucket="boto", Key="b/by-url")
res = s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": k} for k in ["a/big", "a/one", "b/copy"]]})
assert len(res["Deleted"]) == 3, res
s3.delete_bucket(Bucket="boto")
print("boto3 ok")
`;

test("boto3 - put, 100 MiB multipart, ranges, paging, copy, presigned GET and PUT, tagging, errors, over https", {
  skip: hasBoto3 ? false : "python3 boto3 is not installed",
}, async (t) => {
  const { tls, caFile } = await testTls(t);
  const cluster = await bootCluster(t, { tls, remoteCacheNodes: true });
  const { stdout } = await run(
    "python3",
    ["-c", BOTO3_SCRIPT, cluster.s3Url, TEST_CREDENTIALS.accessKeyId, TEST_CREDENTIALS.secretAccessKey],
    {
      env: clientEnv(caFile),
      timeout: 120_000,
    },
  );
  assert.match(stdout, /boto3 ok/);
});
