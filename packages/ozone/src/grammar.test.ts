import assert from "node:assert/strict";
import { test } from "node:test";
import {
  aclChanges,
  changedAcls,
  formatOzoneDate,
  jacksonPretty,
  MAX_QUOTA_BYTES,
  OzoneError,
  parseAcl,
  parseOzoneDate,
  parseQuota,
  quotaOf,
  resourceNameProblem,
} from "./mod.ts";

test("names: Ozone's rules in Ozone's order and words", () => {
  for (const good of ["vol", "volume-1", "a.b-c", "1a2", "x".repeat(63)]) assert.equal(resourceNameProblem(good), undefined, good);
  const cases: [string | null, string][] = [
    [null, "Bucket or Volume name is null"],
    ["ab", "Bucket or Volume length is illegal, valid length is 3-63 characters"],
    ["x".repeat(64), "Bucket or Volume length is illegal, valid length is 3-63 characters"],
    [".abc", "Bucket or Volume name cannot start with a period or dash"],
    ["abc-", "Bucket or Volume name cannot end with a period or dash"],
    ["aBc", "Bucket or Volume name does not support uppercase characters"],
    ["aZc", "Bucket or Volume name has an unsupported character : Z"],
    ["#abc", "Bucket or Volume name has an unsupported character : #"],
    ["a_c", "Bucket or Volume name has an unsupported character : _"],
    ["a..c", "Bucket or Volume name should not have two contiguous periods"],
    ["a-.c", "Bucket or Volume name should not have period after dash"],
    ["a.-c", "Bucket or Volume name should not have dash after period"],
    ["10.0.0.1", "Bucket or Volume name cannot be an IPv4 address or all numeric"],
    ["123", "Bucket or Volume name cannot be an IPv4 address or all numeric"],
  ];
  for (const [name, message] of cases) assert.equal(resourceNameProblem(name), message, String(name));
});

test("quota: the grammar, binary units, Ozone's messages, and how it reads back", () => {
  assert.equal(parseQuota("10TB"), 10 * 2 ** 40);
  assert.equal(parseQuota("1000 mb"), 1000 * 2 ** 20);
  assert.equal(parseQuota("0BYTES"), 0);
  const malformed = (text: string, message: string) =>
    assert.throws(
      () => parseQuota(text),
      (e: unknown) => e instanceof OzoneError && e.shortMessage === "malformedQuota" && e.status === 400 && e.message === message,
      text,
    );
  malformed("NaN", "Quota unit not recognized. Supported values are BYTES, MB, GB and TB.");
  malformed("1KB", "Quota unit not recognized. Supported values are BYTES, MB, GB and TB.");
  malformed("-1MB", "Quota cannot be negative.");
  malformed("1.5GB", 'For input string: "1.5"');
  malformed("REMOVE", "Remove is invalid in this context.");
  malformed("", "Quota string cannot be null or empty.");
  assert.deepEqual(quotaOf(parseQuota("1024MB")), { unit: "GB", size: 1 });
  assert.deepEqual(quotaOf(parseQuota("1000MB")), { unit: "MB", size: 1000 });
  assert.deepEqual(quotaOf(0), { unit: "TB", size: 0 });
  assert.deepEqual(quotaOf(MAX_QUOTA_BYTES), { unit: "TB", size: 1048576 });
  assert.deepEqual(quotaOf(7), { unit: "BYTES", size: 7 });
});

test("ACLs: one a header line, ADD and REMOVE, Ozone's errors, and the update order", () => {
  assert.deepEqual(parseAcl("user:frodo:rw"), { type: "USER", name: "frodo", rights: "READ_WRITE" });
  assert.deepEqual(parseAcl("GROUP:samwise:r"), { type: "GROUP", name: "samwise", rights: "READ" });
  assert.deepEqual(parseAcl("world::W"), { type: "WORLD", name: "", rights: "WRITE" });
  const malformed = (text: string, message: string) =>
    assert.throws(
      () => parseAcl(text),
      (e: unknown) => e instanceof OzoneError && e.shortMessage === "malformedACL" && e.message === message,
      text,
    );
  malformed("user:frodo", "ACLs are not in expected format");
  malformed("world::", "ACLs are not in expected format");
  malformed("user::rw", "User or group name is required");
  malformed("user:frodo:x", "ACL right is not recognized");
  malformed("foo:bar:r", "No enum constant org.apache.hadoop.ozone.OzoneAcl.OzoneACLType.FOO");
  malformed("world:all:r", "Unexpected name part in world type");
  const change = aclChanges(["ADD user:frodo:rw", "ADD group:samwise:r", "add user:ignored:r", "REMOVE user:bilbo:r"]);
  assert.equal(change.add.length, 2);
  assert.deepEqual(change.remove, [{ type: "USER", name: "bilbo", rights: "READ" }]);
  const bilbo = parseAcl("user:bilbo:r");
  const frodo = parseAcl("user:frodo:rw");
  assert.deepEqual(changedAcls([bilbo, frodo], change), [frodo, parseAcl("group:samwise:r")]);
});

test("dates: written as Ozone does, read as leniently as its SimpleDateFormat", () => {
  assert.equal(formatOzoneDate(new Date(Date.UTC(2017, 5, 27, 7, 42, 4))), "Tue, 27 Jun 2017 07:42:04 GMT");
  const at = (text: string) => {
    const parsed = parseOzoneDate(text);
    return "date" in parsed ? parsed.date.toISOString() : parsed.error;
  };
  assert.equal(at("Tue, 27 Jun 2017 07:42:04 GMT"), "2017-06-27T07:42:04.000Z");
  assert.equal(at("Tue, 27 Jun 2017 07:42:04 +0000"), "2017-06-27T07:42:04.000Z");
  assert.equal(at("mon, 7 jun 2017 07:42:04 UTC trailing"), "2017-06-07T07:42:04.000Z", "any case, any weekday, one digit, junk after");
  assert.equal(at("Tue, 27 Jun 2017 07:42:04 PST"), "2017-06-27T15:42:04.000Z");
  assert.equal(at("Tue, 27 Jun 2017 07:42:04 GMT+05:30"), "2017-06-27T02:12:04.000Z");
  assert.equal(at("Thu, 01 Jan 1970 00:00:12 GMT"), "1970-01-01T00:00:12.000Z", "no clock-skew check");
  assert.equal(at("foo"), 'Unparseable date: "foo"');
  assert.equal(at("2017-06-27T07:42:04Z"), 'Unparseable date: "2017-06-27T07:42:04Z"');
  assert.equal(at("Tue, 27 Jun 2017 07:42:04"), 'Unparseable date: "Tue, 27 Jun 2017 07:42:04"', "no zone");
});

test("errors and bodies: the six compact fields in order; success JSON as Jackson pretty-prints it", () => {
  const e = new OzoneError("VOLUME_ALREADY_EXISTS", "Volume creation failed, error:VOLUME_ALREADY_EXISTS", "hdfs/vol1");
  assert.equal(
    e.body("req-1", "gw"),
    '{"httpCode":409,"shortMessage":"volumeAlreadyExists","resource":"hdfs/vol1","message":"Volume creation failed, error:VOLUME_ALREADY_EXISTS","requestID":"req-1","hostName":"gw"}',
  );
  assert.equal(
    new OzoneError("MISSING_DATE").body("r", "h"),
    '{"httpCode":400,"shortMessage":"missingDate","resource":null,"message":"Date header is required.","requestID":"r","hostName":"h"}',
  );
  assert.equal(
    jacksonPretty({
      owner: { name: "bilbo" },
      acls: [{ type: "USER", name: "frodo", rights: "READ_WRITE" }],
      none: [],
      md5hash: null,
      size: 6,
    }),
    [
      "{",
      '  "owner" : {',
      '    "name" : "bilbo"',
      "  },",
      '  "acls" : [ {',
      '    "type" : "USER",',
      '    "name" : "frodo",',
      '    "rights" : "READ_WRITE"',
      "  } ],",
      '  "none" : [ ],',
      '  "md5hash" : null,',
      '  "size" : 6',
      "}",
    ].join("\n"),
  );
});
