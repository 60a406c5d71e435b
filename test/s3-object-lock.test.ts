import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketAclCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
} from "@aws-sdk/client-s3";
import { bootCluster } from "@koine/launcher";
import { ADMIN_AND_BOB, alluxioCall, BOB, s3Client, s3Outcome } from "@koine/testkit/clients";

const HOUR = 3_600_000;

test("s3 object lock - default and explicit retention, GOVERNANCE bypass only with the header and the right, COMPLIANCE, legal hold, every dialect", async (t) => {
  const cluster = await bootCluster(t, ADMIN_AND_BOB);
  const s3 = s3Client(cluster.s3Url);
  const bob = s3Client(cluster.s3Url, BOB);
  t.after(() => {
    s3.destroy();
    bob.destroy();
  });

  // Without Object Lock: lock headers and a lock configuration are refused.
  await s3.send(new CreateBucketCommand({ Bucket: "plain" }));
  const retained = { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: new Date(Date.now() + HOUR) } as const;
  assert.equal(await s3Outcome(s3.send(new PutObjectCommand({ Bucket: "plain", Key: "k", Body: "x", ...retained }))), "400 InvalidRequest");
  const config = (mode: "GOVERNANCE" | "COMPLIANCE") => ({
    ObjectLockEnabled: "Enabled" as const,
    Rule: { DefaultRetention: { Mode: mode, Days: 1 } },
  });
  assert.equal(
    await s3Outcome(s3.send(new PutObjectLockConfigurationCommand({ Bucket: "plain", ObjectLockConfiguration: config("GOVERNANCE") }))),
    "409 InvalidBucketState",
  );
  assert.equal(
    await s3Outcome(s3.send(new GetObjectLockConfigurationCommand({ Bucket: "plain" }))),
    "404 ObjectLockConfigurationNotFoundError",
  );

  // A bucket made with Object Lock: versioning on for good, a default retention.
  const Bucket = "locked";
  await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
  assert.equal(
    await s3Outcome(s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Suspended" } }))),
    "409 InvalidBucketState",
  );
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: config("GOVERNANCE") }));
  assert.deepEqual((await s3.send(new GetObjectLockConfigurationCommand({ Bucket }))).ObjectLockConfiguration?.Rule, {
    DefaultRetention: { Mode: "GOVERNANCE", Days: 1 },
  });
  // bob may write and delete in the bucket, but is not its owner.
  await s3.send(new PutBucketAclCommand({ Bucket, GrantWrite: 'id="bob"', GrantRead: 'id="bob"' }));

  const gov = await s3.send(new PutObjectCommand({ Bucket, Key: "gov", Body: "governed" }));
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "gov" }));
  assert.equal(head.ObjectLockMode, "GOVERNANCE");
  const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
  assert.ok(Math.abs(until - (Date.now() + 24 * HOUR)) < 60_000, "the default retention: one day");
  const VersionId = gov.VersionId as string;
  assert.equal((await s3.send(new GetObjectRetentionCommand({ Bucket, Key: "gov", VersionId }))).Retention?.Mode, "GOVERNANCE");

  // Deleting the version: refused; with the bypass header, refused to bob (no right), done for the owner.
  const del = (client: typeof s3, bypass: boolean) =>
    s3Outcome(
      client.send(new DeleteObjectCommand({ Bucket, Key: "gov", VersionId, ...(bypass ? { BypassGovernanceRetention: true } : {}) })),
    );
  assert.equal(await del(s3, false), "403 AccessDenied");
  assert.equal(await del(bob, false), "403 AccessDenied");
  assert.equal(await del(bob, true), "403 AccessDenied");
  const many = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: "gov", VersionId }] } }));
  assert.equal(many.Errors?.[0]?.Code, "AccessDenied");
  // Nor through the other dialects: an Alluxio delete or rename of the locked file is refused (as Alluxio says it).
  assert.equal((await alluxioCall(cluster.alluxioUrl, `/${Bucket}/gov/delete`, {})).code, "PERMISSION_DENIED");
  assert.equal(
    (await alluxioCall(cluster.alluxioUrl, `/${Bucket}/gov/rename?dst=${encodeURIComponent(`/${Bucket}/elsewhere`)}`, {})).code,
    "PERMISSION_DENIED",
  );
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "gov" }))), "ok");
  // Overwriting and a delete without a version id are allowed: they keep the version.
  await s3.send(new PutObjectCommand({ Bucket, Key: "gov", Body: "newer" }));
  const marker = await s3.send(new DeleteObjectCommand({ Bucket, Key: "gov" }));
  assert.equal(marker.DeleteMarker, true);
  assert.equal((await s3.send(new GetObjectCommand({ Bucket, Key: "gov", VersionId }))).ContentLength, 8);
  // Shortening GOVERNANCE takes the bypass; lengthening does not.
  const later = new Date(until + HOUR);
  await s3.send(
    new PutObjectRetentionCommand({ Bucket, Key: "gov", VersionId, Retention: { Mode: "GOVERNANCE", RetainUntilDate: later } }),
  );
  const sooner = {
    Bucket,
    Key: "gov",
    VersionId,
    Retention: { Mode: "GOVERNANCE" as const, RetainUntilDate: new Date(Date.now() + HOUR) },
  };
  assert.equal(await s3Outcome(s3.send(new PutObjectRetentionCommand(sooner))), "403 AccessDenied");
  assert.equal(await s3Outcome(s3.send(new PutObjectRetentionCommand({ ...sooner, BypassGovernanceRetention: true }))), "ok");
  assert.equal(await del(s3, true), "ok");
  assert.equal(await s3Outcome(s3.send(new GetObjectCommand({ Bucket, Key: "gov", VersionId }))), "404 NoSuchVersion");

  // COMPLIANCE: no delete, no shortening, whoever asks; lengthening is allowed.
  const strictUntil = new Date(Date.now() + HOUR);
  const strict = await s3.send(
    new PutObjectCommand({ Bucket, Key: "strict", Body: "kept", ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: strictUntil }),
  );
  const strictVersion = { Bucket, Key: "strict", VersionId: strict.VersionId as string };
  assert.equal(
    await s3Outcome(s3.send(new DeleteObjectCommand({ ...strictVersion, BypassGovernanceRetention: true }))),
    "403 AccessDenied",
  );
  const shorter = { ...strictVersion, Retention: { Mode: "COMPLIANCE" as const, RetainUntilDate: new Date(Date.now() + HOUR / 2) } };
  assert.equal(
    await s3Outcome(s3.send(new PutObjectRetentionCommand({ ...shorter, BypassGovernanceRetention: true }))),
    "403 AccessDenied",
  );
  const toGovernance = { ...strictVersion, Retention: { Mode: "GOVERNANCE" as const, RetainUntilDate: new Date(Date.now() + 2 * HOUR) } };
  assert.equal(
    await s3Outcome(s3.send(new PutObjectRetentionCommand({ ...toGovernance, BypassGovernanceRetention: true }))),
    "403 AccessDenied",
  );
  const longer = { ...strictVersion, Retention: { Mode: "COMPLIANCE" as const, RetainUntilDate: new Date(Date.now() + 3 * HOUR) } };
  assert.equal(await s3Outcome(s3.send(new PutObjectRetentionCommand(longer))), "ok");

  // A legal hold: no delete even with the bypass, until it is lifted; bob may not set one.
  const held = await s3.send(
    new PutObjectCommand({
      Bucket,
      Key: "held",
      Body: "held",
      ObjectLockLegalHoldStatus: "ON",
      ...{ ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: new Date(Date.now() + 2000) },
    }),
  );
  const heldVersion = { Bucket, Key: "held", VersionId: held.VersionId as string };
  assert.equal((await s3.send(new GetObjectLegalHoldCommand(heldVersion))).LegalHold?.Status, "ON");
  assert.equal((await s3.send(new HeadObjectCommand(heldVersion))).ObjectLockLegalHoldStatus, "ON");
  assert.equal(await s3Outcome(s3.send(new DeleteObjectCommand({ ...heldVersion, BypassGovernanceRetention: true }))), "403 AccessDenied");
  assert.equal(
    await s3Outcome(bob.send(new PutObjectLegalHoldCommand({ ...heldVersion, LegalHold: { Status: "OFF" } }))),
    "403 AccessDenied",
  );
  await s3.send(new PutObjectLegalHoldCommand({ ...heldVersion, LegalHold: { Status: "OFF" } }));
  assert.equal((await s3.send(new GetObjectLegalHoldCommand(heldVersion))).LegalHold?.Status, "OFF");
  // Its short retention runs out: then it may go.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(await s3Outcome(s3.send(new DeleteObjectCommand(heldVersion))), "ok");
  assert.deepEqual(((await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "held" }))).Versions ?? []).length, 0);

  // Bad input: a mode without a date, a date in the past, a malformed configuration; nothing changes.
  const noDate = s3.send(new PutObjectCommand({ Bucket, Key: "bad", Body: "x", ObjectLockMode: "GOVERNANCE" }));
  assert.equal(await s3Outcome(noDate), "400 InvalidArgument");
  const past = s3.send(
    new PutObjectCommand({
      Bucket,
      Key: "bad",
      Body: "x",
      ObjectLockMode: "GOVERNANCE",
      ObjectLockRetainUntilDate: new Date(Date.now() - HOUR),
    }),
  );
  assert.equal(await s3Outcome(past), "400 InvalidArgument");
  assert.equal(await s3Outcome(s3.send(new HeadObjectCommand({ Bucket, Key: "bad" }))), "404 NotFound");
  const badConfig = {
    ObjectLockEnabled: "Enabled" as const,
    Rule: { DefaultRetention: { Mode: "GOVERNANCE" as const, Days: 1, Years: 1 } },
  };
  assert.equal(
    await s3Outcome(s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: badConfig }))),
    "400 MalformedXML",
  );
  assert.equal(await s3Outcome(bob.send(new GetObjectLockConfigurationCommand({ Bucket }))), "403 AccessDenied");
});
