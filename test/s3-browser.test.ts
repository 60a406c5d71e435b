import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { test } from "node:test";
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { ADMIN_AND_BOB, BOB, presignUrl, s3Client, s3Outcome, TEST_CREDENTIALS } from "@koine/testkit/clients";
import puppeteer from "puppeteer-core";

const CHROMIUM = "/usr/bin/chromium";
const REGION = "us-east-1";

/**
 * What a page does (plain JavaScript, run as the browser's own: tsx would
 * add its helpers to a function passed from here): posts the form, reads
 * the object with a presigned GET, and PUTs one with a header of its own,
 * which makes the browser ask first (a preflight). Each comes to its status
 * and what it read, or "error: …" when the browser kept the answer from it.
 */
const IN_PAGE = `async ([endpoint, fields, readUrl, writeUrl]) => {
  const outcome = (work) => work().catch((err) => "error: " + err.name);
  const upload = await outcome(async () => {
    const body = new FormData();
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    body.append("file", new Blob(["hello from a browser"], { type: "text/plain" }), "hello.txt");
    const res = await fetch(endpoint, { method: "POST", body });
    return res.status + " " + (await res.text());
  });
  const read = await outcome(async () => {
    const res = await fetch(readUrl);
    return res.status + " " + res.headers.get("etag") + " " + (await res.text());
  });
  const put = await outcome(async () => {
    const res = await fetch(writeUrl, { method: "PUT", body: "put from a browser", headers: { "x-amz-meta-from": "page" } });
    return String(res.status);
  });
  return { upload, read, put };
}`;

/** A page server: one HTML page at its own origin (another port than the S3 endpoint's). */
async function pageServer(t: { after(fn: () => unknown): void }): Promise<string> {
  const server: Server = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>page</title>"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    // The browser may keep its connection open: it goes with the server.
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** The fields of a browser upload form signed by `credentials` with SigV4: policy, credential, date, signature. */
function signedForm(
  conditions: unknown[],
  credentials: { accessKeyId: string; secretAccessKey: string } = TEST_CREDENTIALS,
  expiration = new Date(Date.now() + 600_000),
): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const date = amzDate.slice(0, 8);
  const credential = `${credentials.accessKeyId}/${date}/${REGION}/s3/aws4_request`;
  const fields = { "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": credential, "x-amz-date": amzDate };
  const policy = Buffer.from(
    JSON.stringify({
      expiration: expiration.toISOString(),
      conditions: [...conditions, ...Object.entries(fields).map(([k, v]) => ({ [k]: v }))],
    }),
  ).toString("base64");
  const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), REGION), "s3"), "aws4_request");
  return { ...fields, policy, "x-amz-signature": createHmac("sha256", signingKey).update(policy).digest("hex") };
}

/** Posts a form (fields in order, then the file) from Node; the status and S3 error code, if any. */
async function post(
  url: string,
  fields: Record<string, string>,
  file: string,
): Promise<{ status: number; code?: string; headers: Headers; body: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", new Blob([file], { type: "text/plain" }), "hello.txt");
  const res = await fetch(url, { method: "POST", body: form, redirect: "manual" });
  const body = await res.text();
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  return { status: res.status, ...(code ? { code } : {}), headers: res.headers, body };
}

test("s3 browser uploads - headless Chromium posts a signed form and reads the object across origins under a CORS rule; another origin is refused", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`no ${CHROMIUM}: install Debian's chromium package (.ci/run does)`);
    return;
  }
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "uploads";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const allowed = await pageServer(t);
  const other = await pageServer(t);
  const rule = {
    AllowedOrigins: [allowed],
    AllowedMethods: ["GET", "POST", "PUT"],
    AllowedHeaders: ["*"],
    ExposeHeaders: ["ETag"],
    MaxAgeSeconds: 60,
  };
  assert.equal(await s3Outcome(s3.send(new GetBucketCorsCommand({ Bucket }))), "404 NoSuchCORSConfiguration");
  await s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [rule] } }));
  assert.deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules, [rule]);
  assert.equal(
    await s3Outcome(
      s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [{ ...rule, AllowedMethods: ["PATCH"] }] } })),
    ),
    "400 InvalidRequest",
  );

  const endpoint = `${cluster.s3Url}/${Bucket}`;
  const form = {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: S3's variable: the name of the file the browser sends.
    key: "browser/${filename}",
    "Content-Type": "text/plain",
    success_action_status: "201",
    ...signedForm([
      { bucket: Bucket },
      ["starts-with", "$key", "browser/"],
      ["starts-with", "$Content-Type", "text/"],
      { success_action_status: "201" },
      ["content-length-range", 1, 1024],
    ]),
  };
  const readUrl = await presignUrl(cluster.s3Url, "GET", `/${Bucket}/browser/hello.txt`, TEST_CREDENTIALS, 600);
  const writeUrl = await presignUrl(cluster.s3Url, "PUT", `/${Bucket}/browser/put.txt`, TEST_CREDENTIALS, 600);

  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
  t.after(() => browser.close());
  /** Runs {@link IN_PAGE} in a page at `origin`. */
  const inPage = async (origin: string) => {
    const page = await browser.newPage();
    await page.goto(origin);
    return (await page.evaluate(`(${IN_PAGE})(${JSON.stringify([endpoint, form, readUrl, writeUrl])})`)) as Record<
      "upload" | "read" | "put",
      string
    >;
  };

  const fromAllowed = await inPage(allowed);
  assert.match(fromAllowed.upload, /^201 .*<Key>browser\/hello\.txt<\/Key>/s, fromAllowed.upload);
  assert.match(fromAllowed.read, /^200 "[0-9a-f]{32}" hello from a browser$/, "the ETag is exposed, the bytes readable");
  assert.equal(fromAllowed.put, "200");
  const put = await s3.send(new GetObjectCommand({ Bucket, Key: "browser/put.txt" }));
  assert.equal(put.Metadata?.from, "page");
  assert.equal(await put.Body?.transformToString(), "put from a browser");

  const fromOther = await inPage(other);
  assert.deepEqual(
    { read: fromOther.read, put: fromOther.put },
    { read: "error: TypeError", put: "error: TypeError" },
    "another origin may not read, nor send a non-simple request",
  );
  assert.match(fromOther.upload, /^error: TypeError$/, "nor read the answer to its form");

  // The preflight itself, as the browser sends it.
  const preflight = (origin: string, method = "PUT") =>
    fetch(`${endpoint}/browser/x`, { method: "OPTIONS", headers: { origin, "access-control-request-method": method } });
  const yes = await preflight(allowed);
  assert.equal(yes.status, 200);
  assert.equal(yes.headers.get("access-control-allow-origin"), allowed);
  assert.equal(yes.headers.get("access-control-allow-methods"), "GET, POST, PUT");
  assert.equal(yes.headers.get("access-control-max-age"), "60");
  assert.equal((await preflight(other)).status, 403);
  assert.equal((await preflight(allowed, "DELETE")).status, 403);
  await s3.send(new DeleteBucketCorsCommand({ Bucket }));
  assert.equal((await preflight(allowed)).status, 403, "no rules, no CORS");
});

test("s3 browser uploads - the policy is law: expired, unsigned-for fields, wrong signature, too large, no right, and redirects", async (t) => {
  const cluster = await bootCluster(t, ADMIN_AND_BOB);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "forms";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const url = `${cluster.s3Url}/${Bucket}`;
  const conditions = [{ bucket: Bucket }, ["starts-with", "$key", "in/"], ["content-length-range", 1, 10]];

  const ok = await post(url, { key: "in/a", ...signedForm(conditions) }, "12345");
  assert.equal(ok.status, 204, ok.body);
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: "in/a" }));
  assert.equal(await got.Body?.transformToString(), "12345");

  // Bad input: not a form, a form that is not multipart/form-data, a form with no file; a preflight without its headers.
  const sent = async (init: RequestInit) => {
    const res = await fetch(url, { method: "POST", ...init });
    return `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1]}`;
  };
  assert.equal(
    await sent({ body: "key=in/x", headers: { "content-type": "application/x-www-form-urlencoded" } }),
    "412 PreconditionFailed",
  );
  assert.equal(
    await sent({ body: "not a form at all", headers: { "content-type": "multipart/form-data; boundary=xyz" } }),
    "400 MalformedPOSTRequest",
  );
  const noFile = new FormData();
  noFile.append("key", "in/x");
  assert.equal(await sent({ body: noFile }), "400 InvalidArgument", "a form with no file");
  assert.equal(await sent({ body: "x", headers: { "content-type": "multipart/form-data" } }), "400 MalformedPOSTRequest", "no boundary");
  const preflight = async (headers: Record<string, string>) => (await fetch(`${url}/in/x`, { method: "OPTIONS", headers })).status;
  assert.equal(await preflight({}), 400, "no Origin");
  assert.equal(await preflight({ origin: "http://example.com" }), 400, "no Access-Control-Request-Method");
  assert.equal(await preflight({ origin: "http://example.com", "access-control-request-method": "GET" }), 403, "no rules");

  const refused = async (fields: Record<string, string>, file = "12345") => {
    const answer = await post(url, fields, file);
    return `${answer.status} ${answer.code}`;
  };
  assert.equal(
    await refused({ key: "in/b", ...signedForm(conditions, TEST_CREDENTIALS, new Date(Date.now() - 1000)) }),
    "403 AccessDenied",
  );
  assert.equal(await refused({ key: "out/b", ...signedForm(conditions) }), "403 AccessDenied", "the key breaks starts-with");
  assert.equal(
    await refused({ key: "in/b", acl: "public-read", ...signedForm(conditions) }),
    "403 AccessDenied",
    "a field no condition names",
  );
  assert.equal(await refused({ key: "in/b", ...signedForm(conditions) }, "12345678901"), "400 EntityTooLarge");
  assert.equal(await refused({ key: "in/b", ...signedForm(conditions), "x-amz-signature": "0".repeat(64) }), "403 SignatureDoesNotMatch");
  assert.equal(
    await refused({ key: "in/b", ...signedForm(conditions, BOB) }),
    "403 AccessDenied",
    "bob may not write koine's bucket, however well he signs",
  );
  assert.equal(await refused({ key: "in/b" }), "403 AccessDenied", "an unsigned form is an anonymous writer");
  assert.equal(await refused({ key: "in/b", ...signedForm(conditions) }, ""), "400 EntityTooSmall");
  for (const key of ["in/b", "in/c"]) {
    assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: key }))), "404 NoSuchKey", "a refused form writes nothing");
  }

  // A bucket anyone may write takes an unsigned form (S3's anonymous uploads).
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket,
      Policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:PutObject", Resource: `arn:aws:s3:::${Bucket}/drop/*` }],
      }),
    }),
  );
  assert.equal((await post(url, { key: "drop/x" }, "anon")).status, 204);

  const redirected = await post(
    url,
    {
      key: "in/r",
      success_action_redirect: "http://example.com/done?x=1",
      ...signedForm([...conditions, ["starts-with", "$success_action_redirect", "http://example.com/"]]),
    },
    "r",
  );
  assert.equal(redirected.status, 303);
  const location = new URL(redirected.headers.get("location") as string);
  assert.deepEqual(
    [location.origin, location.searchParams.get("x"), location.searchParams.get("bucket"), location.searchParams.get("key")],
    ["http://example.com", "1", Bucket, "in/r"],
  );
  assert.match(location.searchParams.get("etag") ?? "", /^"[0-9a-f]{32}"$/);
});
