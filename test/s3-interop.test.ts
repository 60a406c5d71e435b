import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { bootCluster } from "@koine/launcher";
import { tempDir, testTls } from "@koine/testkit";
import { TEST_CREDENTIALS } from "@koine/testkit/clients";

const run = promisify(execFile);

async function has(command: string): Promise<boolean> {
  return run(command, ["--version"], { timeout: 30_000 }).then(
    () => true,
    () => false,
  );
}

const hasRclone = await has("rclone");
const hasS3cmd = await has("s3cmd");

// The interop suite runs over https with a CA made for the test: every endpoint, cache nodes' data ports included.

test("rclone - copy, check and sync a tree with a 100 MiB multipart file, over https", {
  skip: hasRclone ? false : "rclone is not installed (apt-get install rclone)",
}, async (t) => {
  const { tls, caFile } = await testTls(t);
  const cluster = await bootCluster(t, { tls, remoteCacheNodes: true });
  assert.match(cluster.s3Url, /^https:/);
  const dir = await tempDir(t);
  const src = join(dir, "src");
  await mkdir(join(src, "sub", "deeper"), { recursive: true });
  await writeFile(join(src, "a.bin"), randomBytes(3_000_000));
  await writeFile(join(src, "sub", "b.txt"), "hello");
  await writeFile(join(src, "sub", "deeper", "c.bin"), randomBytes(100 * 1024 * 1024));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG: join(dir, "rclone.conf"),
    RCLONE_CONFIG_GW_TYPE: "s3",
    RCLONE_CONFIG_GW_PROVIDER: "Other",
    RCLONE_CONFIG_GW_ENDPOINT: cluster.s3Url,
    RCLONE_CONFIG_GW_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_GW_REGION: "us-east-1",
    RCLONE_CONFIG_GW_FORCE_PATH_STYLE: "true",
    // Multipart above 5 MiB, so that check compares multipart objects too.
    RCLONE_S3_UPLOAD_CUTOFF: "5M",
    RCLONE_S3_CHUNK_SIZE: "5M",
  };
  // The test's CA, and only it: rclone checks the gateway's certificate.
  delete env.AWS_CA_BUNDLE;
  env.RCLONE_CA_CERT = caFile;
  const rclone = async (...args: string[]) => (await run("rclone", args, { env, timeout: 120_000 })).stdout;

  await rclone("mkdir", "gw:rcb");
  await rclone("copy", src, "gw:rcb/tree");
  await rclone("check", src, "gw:rcb/tree");
  await rm(join(src, "sub", "b.txt"));
  await writeFile(join(src, "sub", "new.txt"), "new");
  await rclone("sync", src, "gw:rcb/tree");
  await rclone("check", src, "gw:rcb/tree");
  const listing = await rclone("ls", "gw:rcb");
  assert.deepEqual(
    listing
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[1])
      .sort(),
    ["tree/a.bin", "tree/sub/deeper/c.bin", "tree/sub/new.txt"],
  );
  const back = join(dir, "back");
  await rclone("copy", "gw:rcb/tree", back);
  assert.ok((await readFile(join(back, "sub", "deeper", "c.bin"))).equals(await readFile(join(src, "sub", "deeper", "c.bin"))));
});

test("s3cmd - mb, put (100 MiB multipart), ls, get, del, rb, over https", {
  skip: hasS3cmd ? false : "s3cmd is not installed (apt-get install s3cmd)",
}, async (t) => {
  const { tls, caFile } = await testTls(t);
  const cluster = await bootCluster(t, { tls, remoteCacheNodes: true });
  const dir = await tempDir(t);
  const host = new URL(cluster.s3Url).host;
  const config = join(dir, "s3cfg");
  await writeFile(
    config,
    `[default]\nsignature_v2 = False\nhost_base = ${host}\nhost_bucket = ${host}\nbucket_location = us-east-1\nuse_https = True\nca_certs_file = ${caFile}\ncheck_ssl_certificate = True\ncheck_ssl_hostname = True\naccess_key = ${TEST_CREDENTIALS.accessKeyId}\nsecret_key = ${TEST_CREDENTIALS.secretAccessKey}\n`,
  );
  const s3cmd = async (...args: string[]) => (await run("s3cmd", ["-c", config, ...args], { timeout: 120_000 })).stdout;
  const big = randomBytes(100 * 1024 * 1024);
  await writeFile(join(dir, "big"), big);
  await writeFile(join(dir, "small"), "small");
  await s3cmd("mb", "s3://s3c");
  await s3cmd("put", "--multipart-chunk-size-mb=5", join(dir, "big"), "s3://s3c/x/big");
  await s3cmd("put", join(dir, "small"), "s3://s3c/x/small");
  const ls = await s3cmd("ls", "s3://s3c/x/");
  assert.match(ls, /104857600\s+s3:\/\/s3c\/x\/big/);
  assert.match(ls, /5\s+s3:\/\/s3c\/x\/small/);
  await s3cmd("get", "--force", "s3://s3c/x/big", join(dir, "big.back"));
  assert.ok((await readFile(join(dir, "big.back"))).equals(big));
  await s3cmd("del", "s3://s3c/x/big", "s3://s3c/x/small");
  await s3cmd("rb", "s3://s3c");
  assert.doesNotMatch(await s3cmd("ls"), /s3c/);
});
