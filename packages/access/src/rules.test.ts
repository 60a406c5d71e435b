import assert from "node:assert/strict";
import { test } from "node:test";
import type { FileInfo } from "@koine/protocol";
import { cannedGrants, grantsOf } from "./acl.ts";
import { isPublicPolicy, PolicyError, parsePolicy } from "./policy.ts";
import { anonymous, type Principal, principalOf } from "./principal.ts";
import { type Action, isAllowed, type Subject } from "./rules.ts";

const facts = { sourceIp: "10.0.0.5", secureTransport: false };
const who = {
  anonymous: anonymous(facts),
  owner: principalOf({ accessKey: "alice", groups: ["staff"], admin: false }, facts),
  other: principalOf({ accessKey: "mallory", groups: [], admin: false }, facts),
  member: principalOf({ accessKey: "bob", groups: ["analysts"], admin: false }, facts),
  admin: principalOf({ accessKey: "root-ak", groups: [], admin: true }, facts),
};

function inode(path: string, over: Partial<FileInfo> = {}): FileInfo {
  return {
    id: 1,
    path,
    name: path.split("/").pop() ?? "",
    type: "file",
    size: 0,
    createdMs: 0,
    mtimeMs: 0,
    etag: "",
    contentType: "",
    userMeta: {},
    owner: "alice",
    group: "analysts",
    mode: 0o600,
    contentId: "",
    blockSize: 1,
    persistence: "PERSISTED",
    ufs: { mountId: "", path: "" },
    ufsFingerprint: "",
    implicit: false,
    marker: false,
    ...over,
  };
}

function subject(object: Partial<FileInfo> | undefined, bucket: Partial<FileInfo> = {}): Subject {
  const b = inode("/b", { type: "directory", mode: 0o700, ...bucket });
  return { path: "/b/k", target: object && inode("/b/k", object), container: b, bucket: b };
}

const allowed = (p: Principal, action: Action, s: Subject) => isAllowed(p, action, s);

test("access - the owner has every right on its bucket and what is in it; others none on a private one", () => {
  const s = subject({ owner: "carol" });
  for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl", "koine:SetPermissions"] as const) {
    assert.equal(allowed(who.owner, action, s), true, action);
    assert.equal(allowed(who.other, action, s), false, action);
    assert.equal(allowed(who.anonymous, action, s), false, action);
    assert.equal(allowed(who.admin, action, s), true, action);
  }
  assert.equal(allowed(who.owner, "koine:SetOwner", s), false, "chown is an admin's");
  assert.equal(allowed(who.owner, "koine:Admin", s), false);
  assert.equal(allowed(who.admin, "koine:SetOwner", s), true);
});

test("access - mode bits: group members by the group bits, signed-in users by the other bits, anonymous by none", () => {
  const s = subject({ owner: "alice", group: "analysts", mode: 0o640 });
  assert.equal(allowed(who.member, "s3:GetObject", s), true);
  assert.equal(allowed(who.member, "koine:SetAttributes", s), false, "no w bit for the group");
  assert.equal(allowed(who.other, "s3:GetObject", s), false);
  const open = subject({ owner: "alice", mode: 0o644 });
  assert.equal(allowed(who.other, "s3:GetObject", open), true);
  assert.equal(allowed(who.anonymous, "s3:GetObject", open), false);
  // Writing into a directory takes its w bit.
  const shared = subject(undefined, { owner: "alice", group: "analysts", mode: 0o770 });
  assert.equal(allowed(who.member, "s3:PutObject", shared), true);
  assert.equal(allowed(who.other, "s3:PutObject", shared), false);
});

test("access - ACL grants: public-read opens reads to anyone, not writes; grants to a user or group", () => {
  const pub = subject({ grants: cannedGrants("public-read", "alice") });
  assert.equal(allowed(who.anonymous, "s3:GetObject", pub), true);
  assert.equal(allowed(who.anonymous, "s3:PutObjectAcl", pub), false);
  assert.equal(allowed(who.anonymous, "s3:DeleteObject", pub), false);
  const granted = grantsOf({ READ: 'id="mallory"', FULL_CONTROL: 'id="group:analysts"' });
  assert.ok(granted);
  const s = subject({ grants: granted });
  assert.equal(allowed(who.other, "s3:GetObject", s), true);
  assert.equal(allowed(who.other, "s3:PutObjectAcl", s), false);
  assert.equal(allowed(who.member, "s3:PutObjectAcl", s), true);
  assert.equal(grantsOf({ READ: 'emailAddress="x@example.com"' }), undefined);
  // IgnorePublicAcls: public grants speak to nobody.
  const blocked = subject(
    { grants: cannedGrants("public-read", "alice") },
    { publicAccessBlock: { blockPublicAcls: false, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: false } },
  );
  assert.equal(allowed(who.anonymous, "s3:GetObject", blocked), false);
});

test("access - a missing path is decided as a listing of its container", () => {
  assert.equal(allowed(who.other, "s3:GetObject", subject(undefined)), false);
  assert.equal(allowed(who.other, "s3:GetObject", subject(undefined, { owner: "alice", mode: 0o755 })), true);
});

test("access - bucket policies: Deny wins, Allow grants, conditions on source address, TLS and prefix", () => {
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: "*",
        Action: ["s3:GetObject"],
        Resource: "arn:aws:s3:::b/*",
        Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
      },
      { Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:user/mallory" }, Action: "s3:Put*", Resource: ["arn:aws:s3:::b/k"] },
      {
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: "arn:aws:s3:::b/*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Effect: "Allow",
        Principal: { AWS: "bob" },
        Action: "s3:ListBucket",
        Resource: "arn:aws:s3:::b",
        Condition: { StringLike: { "s3:prefix": "public/*" } },
      },
    ],
  });
  const s = subject({}, { policy });
  // Plain http: the Deny on insecure transport refuses even the owner's... reads of objects.
  assert.equal(allowed(who.owner, "s3:GetObject", s), false);
  const tls = { ...facts, secureTransport: true };
  assert.equal(isAllowed(anonymous(tls), "s3:GetObject", s), true);
  assert.equal(isAllowed(anonymous({ ...tls, sourceIp: "192.168.1.1" }), "s3:GetObject", s), false);
  assert.equal(isAllowed(principalOf({ accessKey: "mallory", groups: [], admin: false }, tls), "s3:PutObject", s), true);
  const bucket: Subject = { path: "/b", target: s.container, container: s.container, bucket: s.container };
  const bob = principalOf({ accessKey: "bob", groups: [], admin: false }, tls);
  assert.equal(isAllowed(bob, "s3:ListBucket", bucket, { prefix: "public/x" }), true);
  assert.equal(isAllowed(bob, "s3:ListBucket", bucket, { prefix: "private/" }), false);
  assert.equal(isPublicPolicy(policy, "b"), false, "the public Allow is narrowed to an address range");
  assert.equal(
    isPublicPolicy(
      JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }] }),
      "b",
    ),
    true,
  );
});

test("access - a policy koine cannot honour is refused, not ignored", () => {
  const bad = (statement: unknown) => assert.throws(() => parsePolicy(JSON.stringify({ Statement: [statement] }), "b"), PolicyError);
  const base = { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" };
  bad({ ...base, Resource: "arn:aws:s3:::other/*" });
  bad({ ...base, Effect: "Maybe" });
  bad({ ...base, Condition: { DateGreaterThan: { "aws:CurrentTime": "2020-01-01" } } });
  bad({ ...base, Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/99" } } });
  bad({ ...base, NotPrincipal: "*" });
  bad({ ...base, Action: "iam:CreateUser" });
  assert.throws(() => parsePolicy("{", "b"), PolicyError);
});

test("access - recursive grants of a directory hold on it and everything below it (Ozone bucket ACLs); plain ones do not", () => {
  const volume = inode("/v", { type: "directory", mode: 0o700 });
  const ozoneBucket = (grants: FileInfo["grants"]) => inode("/v/b", { type: "directory", mode: 0o700, ...(grants ? { grants } : {}) });
  const at = (dir: FileInfo, key?: string): Subject => {
    const path = key ? `/v/b/${key}` : "/v/b";
    return {
      path,
      target: key ? inode(path, { owner: "carol" }) : dir,
      container: key ? dir : volume,
      bucket: volume,
      ancestors: key ? [dir, volume] : [volume],
    };
  };
  const readers = ozoneBucket([{ grantee: "user:bob", permission: "READ", recursive: true }]);
  assert.equal(allowed(who.member, "s3:GetObject", at(readers, "x/k")), true, "a key below");
  assert.equal(allowed(who.member, "s3:ListBucket", at(readers)), true, "the bucket itself");
  assert.equal(allowed(who.member, "s3:PutObject", at(readers, "k")), false, "READ is not WRITE");
  assert.equal(allowed(who.other, "s3:GetObject", at(readers, "k")), false, "another user");
  const writers = ozoneBucket([{ grantee: "group:analysts", permission: "WRITE", recursive: true }]);
  assert.equal(allowed(who.member, "s3:PutObject", at(writers, "k")), true, "a group member writes");
  assert.equal(allowed(who.member, "s3:GetObject", at(writers, "k")), false);
  const world = ozoneBucket([{ grantee: "AllUsers", permission: "READ", recursive: true }]);
  assert.equal(allowed(who.anonymous, "s3:GetObject", at(world, "k")), true, "world::r");
  const plain = ozoneBucket([{ grantee: "user:bob", permission: "READ" }]);
  assert.equal(allowed(who.member, "s3:GetObject", at(plain, "k")), false, "a plain grant stays on its directory");
});
