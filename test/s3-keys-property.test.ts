import assert from "node:assert/strict";
import { test } from "node:test";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { alluxioKeyPath, alluxioReadAsIs, s3Client, signedRequest, TEST_CREDENTIALS } from "@koine/testkit/clients";
import fc from "fast-check";

/** S3's order: by the keys' UTF-8 bytes. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A string that survives UTF-8 (no lone surrogate), as every S3 key must. */
const isUtf8 = (s: string) => Buffer.from(s, "utf8").toString("utf8") === s;

/**
 * Key segments: from all of Unicode, or from a few characters, so that keys
 * share prefixes, or "", "." and ".." (names like any: "a//b", "a/../b").
 */
const segment = fc
  .oneof(
    fc.string({ unit: "binary", minLength: 1, maxLength: 6 }),
    fc.string({ unit: fc.constantFrom("a", "b", "é", "😀", "%", "+", " ", "-", "~", "'", "*"), minLength: 1, maxLength: 3 }),
    fc.constantFrom("", ".", ".."),
  )
  .filter((s) => isUtf8(s) && !s.includes("/") && !s.includes("\0"));

/** A key: one to four segments, sometimes ending in "/" (a folder object, with bytes like any). */
const key = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.integer({ min: 0, max: 4 }))
  .map(([segments, folder, roll]) => `${segments.join("/")}${folder && roll === 0 ? "/" : ""}`)
  .filter((k) => k !== "" && Buffer.byteLength(k) <= 1024);

/**
 * The keys to write: the sample, and for every third key with keys below
 * it a key of its first segments, so that a key and keys below it ("a" and
 * "a/b") are common.
 */
function withParents(keys: string[]): string[] {
  const parents = keys
    .filter((_, i) => i % 3 === 0)
    .map((k) => k.split("/"))
    .filter((segments) => segments.length > 2 || (segments.length === 2 && segments[1] !== ""))
    .map((segments) => segments.slice(0, Math.max(1, segments.length - 2)).join("/"))
    .filter((parent) => parent !== "");
  return [...new Set([...keys, ...parents])];
}

/** What S3 lists for a prefix and delimiter: keys and common prefixes, merged in byte order. */
function model(keys: readonly string[], prefix: string, delimiter: string): { value: string; prefix: boolean }[] {
  const entries = new Map<string, boolean>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const at = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
    if (at >= 0) entries.set(k.slice(0, at + delimiter.length), true);
    else if (!entries.has(k)) entries.set(k, false);
  }
  return [...entries].map(([value, isPrefix]) => ({ value, prefix: isPrefix })).sort((a, b) => byBytes(a.value, b.value));
}

/** Every <name>…</name> inside every <block>…</block>, URL-decoded (encoding-type=url). */
function decoded(xml: string, block: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${block}>(.*?)</${block}>`, "gs"))].flatMap((m) =>
    [...(m[1] as string).matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((n) => decodeURIComponent(n[1] as string)),
  );
}
const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

test("s3 keys - random Unicode and /-heavy keys list as S3 orders them, for random prefixes, delimiters and page sizes, v1 and v2; each reads through the Alluxio path", async (t) => {
  const cluster = await bootCluster(t);
  const s3 = s3Client(cluster.s3Url);
  t.after(() => s3.destroy());
  const Bucket = "prop";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const seed = Number(process.env.KOINE_PROPERTY_SEED ?? Date.now() % 2 ** 31);
  t.diagnostic(`key seed ${seed} (KOINE_PROPERTY_SEED=${seed} repeats it)`);
  console.error(`s3 keys property test: key seed ${seed}`); // at once, should the run not end
  const keys = withParents(fc.sample(key, { numRuns: 120, seed }));
  assert.ok(
    keys.some((k) => !k.endsWith("/") && keys.some((other) => other.startsWith(`${k}/`))),
    "some key has keys below it",
  );
  assert.ok(
    keys.some((k) => k.endsWith("/")) && keys.some((k) => /(^|\/)(\.\.?)?(\/|$)/.test(k)),
    'some key ends in "/", some has an empty, "." or ".." segment',
  );
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: `bytes of ${Key}` }));

  /** Every page of a listing, as S3 sends them: the keys and common prefixes of each. */
  const listAll = async (v2: boolean, prefix: string, delimiter: string, maxKeys: number) => {
    const pages: { keys: string[]; prefixes: string[] }[] = [];
    let token: string | undefined;
    let marker: string | undefined;
    for (;;) {
      const query: Record<string, string> = { "encoding-type": "url", prefix, "max-keys": String(maxKeys) };
      if (delimiter) query.delimiter = delimiter;
      if (v2) {
        query["list-type"] = "2";
        if (token !== undefined) query["continuation-token"] = token;
      } else if (marker !== undefined) query.marker = marker;
      const res = await signedRequest(cluster.s3Url, { method: "GET", path: `/${Bucket}`, query, ...TEST_CREDENTIALS });
      assert.equal(res.status, 200, res.body);
      const page = { keys: decoded(res.body, "Contents", "Key"), prefixes: decoded(res.body, "CommonPrefixes", "Prefix") };
      pages.push(page);
      assert.ok(page.keys.length + page.prefixes.length <= maxKeys, "no page holds more than max-keys");
      if (field(res.body, "IsTruncated") !== "true") return pages;
      const before = v2 ? token : marker;
      token = field(res.body, "NextContinuationToken");
      const next = field(res.body, "NextMarker");
      marker = next !== undefined ? decodeURIComponent(next) : [...page.keys, ...page.prefixes].sort(byBytes).at(-1);
      // A listing that does not move on would page forever: it fails, saying where.
      assert.notEqual(v2 ? token : marker, before, `the listing stays at ${JSON.stringify(before)} (${JSON.stringify(query)})`);
      assert.ok(pages.length <= keys.length + 1, `more pages than keys (${JSON.stringify(query)})`);
    }
  };

  const prefixes = [...new Set(keys.flatMap((k) => [...k].map((_, i) => [...k].slice(0, i).join(""))))];
  const characters = [...new Set(keys.flatMap((k) => [...k]))];
  const query = fc.record({
    v2: fc.boolean(),
    prefix: fc.oneof(fc.constant(""), fc.constantFrom(...prefixes), fc.string({ unit: "binary", maxLength: 2 }).filter(isUtf8)),
    delimiter: fc.oneof(fc.constant(""), fc.constant("/"), fc.constantFrom(...characters), fc.constant("/b")),
    maxKeys: fc.constantFrom(1, 2, 3, 5, 50, 1000),
  });
  await fc.assert(
    fc.asyncProperty(query, async ({ v2, prefix, delimiter, maxKeys }) => {
      const expected = model(keys, prefix, delimiter);
      const pages = await listAll(v2, prefix, delimiter, maxKeys);
      // Page by page: the next max-keys entries of S3's order, keys and common prefixes each in their list.
      const expectedPages = [];
      for (let i = 0; i < Math.max(1, expected.length); i += maxKeys) {
        const slice = expected.slice(i, i + maxKeys);
        expectedPages.push({
          keys: slice.filter((e) => !e.prefix).map((e) => e.value),
          prefixes: slice.filter((e) => e.prefix).map((e) => e.value),
        });
      }
      assert.deepEqual(pages, expectedPages);
    }),
    { numRuns: 40, seed },
  );

  // Every object reads through the Alluxio proxy at /<bucket>/<key>, each name percent-encoded (decoded once).
  for (const k of keys) {
    assert.equal((await alluxioReadAsIs(cluster.alluxioUrl, alluxioKeyPath(Bucket, k))).toString(), `bytes of ${k}`, k);
  }
});
