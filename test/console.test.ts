import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { tempDir } from "@koine/testkit";
import { ADMIN_AND_BOB, adminCall, BOB, s3Client, TEST_CREDENTIALS } from "@koine/testkit/clients";
import puppeteer, { type Page } from "puppeteer-core";

const CHROMIUM = "/usr/bin/chromium";
const DOCS = join(import.meta.dirname, "..", "docs", "console");

test("console - signs in, sees both cache nodes, loads a directory to 100 %, reads an object's block locations, uploads a file, sets a TTL", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip("chromium is not installed (apt-get install chromium); .ci/run installs it");
    return;
  }
  const data = await tempDir(t, "koine-console-data-");
  for (let i = 0; i < 4; i++) await writeFile(join(data, `part-${i}.bin`), Buffer.alloc(256 * 1024, i));
  const cluster = await bootCluster(t, { cacheNodes: 2, ...ADMIN_AND_BOB });
  assert.equal((await adminCall(cluster.adminUrl, "POST", "/api/v1/mount", { path: "/data", ufs: pathToFileURL(data).href })).status, 200);
  const shots = await tempDir(t, "koine-console-shots-");
  t.diagnostic(`screenshots in ${shots}`);
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  const shoot = async (name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    if (process.env.KOINE_WRITE_DOCS) {
      await mkdir(DOCS, { recursive: true });
      await copyFile(join(shots, `${name}.png`), join(DOCS, `${name}.png`));
    }
  };

  await page.goto(`${cluster.consoleUrl}/`);
  await page.waitForSelector("form.login");
  // A wrong secret is refused, said in the form.
  await signIn(page, TEST_CREDENTIALS.accessKeyId, "not the secret");
  await page.waitForSelector(".login .error");
  assert.match(await text(page, ".login .error"), /SignatureDoesNotMatch/);
  await shoot("sign-in");
  await page.reload();
  await page.waitForSelector("form.login");
  await signIn(page, TEST_CREDENTIALS.accessKeyId, TEST_CREDENTIALS.secretAccessKey);

  // Overview: both cache nodes, every service, and charts once two overviews were taken.
  await page.waitForSelector('tr[data-node="node1"]');
  assert.deepEqual(await page.$$eval("tr[data-node]", (rows) => rows.map((r) => r.getAttribute("data-node"))), ["node0", "node1"]);
  assert.match(await text(page, "table.services"), /metadata[\s\S]*s3-gateway/);
  await page.waitForFunction("document.querySelectorAll('.chart canvas').length >= 5", { timeout: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 4_500));
  await shoot("overview");

  // Jobs: a load started from the form, its bar to 100 %.
  await page.click('a[data-page="jobs"]');
  await page.waitForSelector("form.start");
  await page.type('form.start input[name="path"]', "/data");
  await page.click('form.start button[type="submit"]');
  await page.waitForFunction("document.querySelector('tr[data-job][data-state=\"SUCCEEDED\"] .percent')?.textContent === '100 %'", {
    timeout: 30_000,
  });
  assert.match(await text(page, "tr[data-job] .detail"), /1\.0 MiB of 1\.0 MiB\s+files 4\/4/);
  await shoot("jobs");
  // Stop and resume: a slow load (64 KiB/s) stopped from its row, then resumed.
  const slow = await adminCall(cluster.adminUrl, "POST", "/api/v1/load", {
    paths: ["/data"],
    alias: "slow",
    // Each block onto a second node too: what the first load cached is loaded again, slowly.
    options: { bandwidth: 64 * 1024, batchSize: 1, replicas: 2 },
  });
  const row = `tr[data-job="${slow.json.id}"]`;
  await page.waitForSelector(`${row}[data-state="RUNNING"] button`);
  await page.click(`${row} button`);
  await page.waitForSelector(`${row}[data-state="STOPPED"] button`, { timeout: 15_000 });
  await page.click(`${row} button`);
  await page.waitForSelector(`${row}[data-state="RUNNING"]`, { timeout: 15_000 });
  assert.match(await text(page, ".message"), /it is resumed/);
  await adminCall(cluster.adminUrl, "DELETE", "/api/v1/load", { id: slow.json.id });

  // A refusal is shown as the admin API words it.
  await page.evaluate("document.querySelector('form.start input[name=path]').value = ''");
  await page.type('form.start input[name="path"]', "s3://no-such-mount/x");
  await page.click('form.start button[type="submit"]');
  await page.waitForSelector(".message");
  assert.match(await text(page, ".message"), /s3:\/\/no-such-mount\/x is neither a path nor in a mounted under-store/);

  // Namespace: the mounted bucket, an object's blocks and where they are cached (the load put them there).
  await page.click('a[data-page="namespace"]');
  await page.waitForSelector('a[data-entry="data"]');
  assert.match(await text(page, "ul.entries"), /data\/\s+mount/);
  await page.click('a[data-entry="data"]');
  await page.waitForSelector('a[data-entry="part-0.bin"]');
  await page.click('a[data-entry="part-0.bin"]');
  await page.waitForSelector("table.blocks tr[data-block]");
  const block = await text(page, 'tr[data-block="0"]');
  assert.match(block, /^0\s*0–262143\s*node[01]\s*node[01]/, block);
  assert.match(await text(page, "dd.persistence"), /PERSISTED/);
  assert.match(await text(page, "article.object"), /Alluxio name\s*\/data\/part-0\.bin[\s\S]*AIS name\s*ais:\/\/data\/part-0\.bin/);
  await shoot("namespace");

  // An upload from the page, read back through S3.
  const local = join(data, "..", "from-the-browser.txt");
  await writeFile(local, "uploaded by the console");
  const input = await page.$('form.upload input[type="file"]');
  await input?.uploadFile(local);
  await page.click('form.upload button[type="submit"]');
  await page.waitForSelector('a[data-entry="from-the-browser.txt"]');
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "from-the-browser.txt" }));
  assert.equal(await got.Body?.transformToString(), "uploaded by the console");

  // Mounts and policies: the admin API's refusals inline; a rule added shows, and holds.
  await page.click('a[data-page="policies"]');
  await page.waitForSelector('tr[data-mount="/data"]');
  await page.type('form[data-form="ttl"] input[name="path"]', "/data");
  await page.type('form[data-form="ttl"] input[name="time"]', "soon");
  await page.click('form[data-form="ttl"] button[type="submit"]');
  await page.waitForSelector('[data-message="ttl"]');
  assert.match(await text(page, '[data-message="ttl"]'), /time must be a duration such as 30s/);
  await page.evaluate("document.querySelector('form[data-form=ttl] input[name=time]').value = ''");
  await page.type('form[data-form="ttl"] input[name="time"]', "1h");
  await page.click('form[data-form="ttl"] button[type="submit"]');
  await page.waitForSelector('li[data-rule="ttl"]');
  assert.match(await text(page, 'li[data-rule="ttl"]'), /\/data: 3600 s/);
  assert.match(JSON.stringify((await adminCall(cluster.adminUrl, "GET", "/api/v1/ttl")).json), /"path":"\/data","ttlMs":3600000/);
  await page.type('form[data-form="mount"] input[name="path"]', "/elsewhere");
  await page.type('form[data-form="mount"] input[name="ufs"]', "file:///etc");
  await page.click('form[data-form="mount"] button[type="submit"]');
  await page.waitForSelector('[data-message="mount"]');
  assert.match(await text(page, '[data-message="mount"]'), /KOINE_MOUNT_ROOTS|mount roots|not below/i);
  await shoot("mounts-and-policies");

  // A user who is no admin: the namespace only, as S3 lets them see it.
  await page.click("span.who a");
  await page.waitForSelector("form.login");
  await signIn(page, BOB.accessKeyId, BOB.secretAccessKey);
  await page.waitForSelector("section.namespace");
  await page.click('a[data-page="overview"]');
  await page.waitForSelector("main p.error");
  assert.match(await text(page, "main p.error"), /the admin API's: bob is no admin/);
  assert.deepEqual(errors, [], "no error in the page");
});

async function signIn(page: Page, accessKey: string, secret: string): Promise<void> {
  await page.evaluate("for (const i of document.querySelectorAll('form.login input')) i.value = ''");
  await page.type('input[name="accessKey"]', accessKey);
  await page.type('input[name="secretKey"]', secret);
  await page.click('form.login button[type="submit"]');
}

function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => e.textContent ?? "");
}
