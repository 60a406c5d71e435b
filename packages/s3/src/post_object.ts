import { createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { anonymous, type Identities, type Principal, principalOf } from "@koine/access";
import Busboy from "busboy";
import { requireBucket } from "./buckets.ts";
import { quoteEtag, type S3Context, type S3Deps } from "./context.ts";
import { type S3Error, s3Error } from "./errors.ts";
import { checkKey, pathOf } from "./names.ts";
import { attributesFrom } from "./objects.ts";
import { hmac, parseAmzDate, sameSignature, signingKeyFor } from "./sigv4.ts";
import { s3Xml } from "./xml.ts";

// biome-ignore lint/suspicious/noTemplateCurlyInString: S3's variable, literally "${filename}" in a key field.
const FILENAME_VARIABLE = "${filename}";

/** S3's limits on a form: the fields before the file, and each field. */
const MAX_FIELDS = 100;
const MAX_FIELD_BYTES = 20 * 1024;

/** Fields a policy need not name (S3: the signature, the file, the policy, and x-ignore-*). */
function exempt(name: string): boolean {
  return ["policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"].includes(name) || name.startsWith("x-ignore-");
}

/** What the form holds up to its file: its fields (names in lower case) and the file. */
interface Form {
  fields: Map<string, string>;
  file: Readable;
  filename: string;
}

/** Reads a form up to its file field (fields after it are ignored, as S3 does). */
function readForm(ctx: S3Context): Promise<Form> {
  return new Promise((resolve, reject) => {
    let parser: Busboy.Busboy;
    try {
      parser = Busboy({
        headers: ctx.req.headers,
        limits: { fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, files: 1 },
      });
    } catch {
      return reject(s3Error("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."));
    }
    const fields = new Map<string, string>();
    let settled = false;
    const fail = (err: S3Error) => {
      if (settled) return;
      settled = true;
      ctx.req.raw.unpipe(parser);
      reject(err);
    };
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) fail(s3Error("MalformedPOSTRequest", `The form field ${name} is longer than ${MAX_FIELD_BYTES} bytes`));
      fields.set(name.toLowerCase(), value);
    });
    parser.on("fieldsLimit", () => fail(s3Error("MalformedPOSTRequest", `A form has at most ${MAX_FIELDS} fields`)));
    parser.on("file", (name, stream, info) => {
      if (settled || name.toLowerCase() !== "file") {
        stream.resume();
        return;
      }
      settled = true;
      resolve({ fields, file: stream, filename: info.filename ?? "" });
    });
    parser.on("error", () =>
      fail(s3Error("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")),
    );
    parser.on("close", () => fail(s3Error("InvalidArgument", "POST requires exactly one file upload per request.")));
    ctx.req.raw.pipe(parser);
  });
}

/** Who signed the form's policy (SigV4, or SigV2's AWSAccessKeyId and signature); anonymous when nothing is signed. */
function signerOf(fields: Map<string, string>, identities: Identities, ctx: S3Context): Principal {
  const facts = { sourceIp: ctx.req.ip, secureTransport: ctx.req.protocol === "https" };
  const policy = fields.get("policy");
  const v4 = fields.get("x-amz-signature");
  const v2 = fields.get("signature");
  if (policy === undefined && v4 === undefined && v2 === undefined) return anonymous(facts);
  if (policy === undefined) throw s3Error("InvalidArgument", "Bucket POST must contain a field named 'policy'.");
  let accessKey: string;
  let expected: string;
  let given: string;
  if (v4 !== undefined) {
    if (fields.get("x-amz-algorithm") !== "AWS4-HMAC-SHA256") throw s3Error("InvalidArgument", "x-amz-algorithm must be AWS4-HMAC-SHA256");
    const credential = (fields.get("x-amz-credential") ?? "").split("/");
    const amzDate = fields.get("x-amz-date") ?? "";
    if (credential.length !== 5 || credential[4] !== "aws4_request" || Number.isNaN(parseAmzDate(amzDate))) {
      throw s3Error("InvalidArgument", "x-amz-credential and x-amz-date must name a SigV4 credential and its date");
    }
    const [key, date, region, service] = credential as [string, string, string, string];
    if (amzDate.slice(0, 8) !== date) throw s3Error("InvalidArgument", "The credential date does not match x-amz-date");
    const secret = identities.secretOf(key);
    if (secret === undefined) throw s3Error("InvalidAccessKeyId");
    accessKey = key;
    expected = hmac(signingKeyFor(secret, date, region, service), policy).toString("hex");
    given = v4;
  } else {
    accessKey = fields.get("awsaccesskeyid") ?? "";
    const secret = identities.secretOf(accessKey);
    if (secret === undefined) throw s3Error("InvalidAccessKeyId");
    expected = createHmac("sha1", secret).update(policy).digest("base64");
    given = v2 ?? "";
  }
  if (!sameSignature(expected, given)) throw s3Error("SignatureDoesNotMatch");
  const user = identities.userOf(accessKey);
  if (!user) throw s3Error("InvalidAccessKeyId");
  return principalOf(user, facts);
}

/** The content-length-range a policy sets, checked as the file arrives. */
interface LengthRange {
  min: number;
  max: number;
}

/** The form's fields against its policy: not expired, every condition met, every field named by one. */
function checkPolicy(policyBase64: string, fields: Map<string, string>, nowMs: number): LengthRange | undefined {
  let policy: { expiration?: unknown; conditions?: unknown };
  try {
    policy = JSON.parse(Buffer.from(policyBase64, "base64").toString("utf8"));
  } catch {
    throw s3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.");
  }
  const expiration = typeof policy.expiration === "string" ? Date.parse(policy.expiration) : Number.NaN;
  if (Number.isNaN(expiration)) throw s3Error("InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.");
  if (expiration < nowMs) throw s3Error("AccessDenied", "Invalid according to Policy: Policy expired.");
  if (!Array.isArray(policy.conditions)) throw s3Error("InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.");
  const named = new Set<string>();
  let range: LengthRange | undefined;
  const refuse = (condition: unknown) =>
    s3Error("AccessDenied", `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(condition)}`);
  for (const condition of policy.conditions as unknown[]) {
    let op: string;
    let field: string;
    let value: string;
    if (Array.isArray(condition)) {
      if (condition[0] === "content-length-range") {
        const [, min, max] = condition;
        if (!Number.isInteger(Number(min)) || !Number.isInteger(Number(max)))
          throw s3Error("InvalidPolicyDocument", "Invalid Policy: content-length-range");
        range = { min: Number(min), max: Number(max) };
        continue;
      }
      if (condition.length !== 3 || typeof condition[1] !== "string" || typeof condition[2] !== "string") {
        throw s3Error("InvalidPolicyDocument", `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`);
      }
      [op, field, value] = condition as [string, string, string];
      op = op.toLowerCase();
      if (!field.startsWith("$")) throw s3Error("InvalidPolicyDocument", `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`);
      field = field.slice(1).toLowerCase();
    } else if (condition && typeof condition === "object" && Object.keys(condition).length === 1) {
      const [name, v] = Object.entries(condition)[0] as [string, unknown];
      if (typeof v !== "string") throw s3Error("InvalidPolicyDocument", `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`);
      [op, field, value] = ["eq", name.toLowerCase(), v];
    } else {
      throw s3Error("InvalidPolicyDocument", `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`);
    }
    const actual = fields.get(field) ?? "";
    if (op === "eq" ? actual !== value : op === "starts-with" ? !actual.startsWith(value) : true) throw refuse(condition);
    named.add(field);
  }
  const extra = [...fields.keys()].filter((name) => !exempt(name) && !named.has(name));
  if (extra.length) throw s3Error("AccessDenied", `Invalid according to Policy: Extra input fields: ${extra.join(", ")}`);
  return range;
}

/** The file, failing once it has more bytes than the policy allows, or at its end with fewer. */
async function* withinRange(file: Readable, range: LengthRange | undefined): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of file as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (range && size > range.max)
      throw s3Error("EntityTooLarge", undefined, { ProposedSize: String(size), MaxSizeAllowed: String(range.max) });
    yield chunk;
  }
  if (range && size < range.min)
    throw s3Error("EntityTooSmall", undefined, { ProposedSize: String(size), MinSizeAllowed: String(range.min) });
}

/**
 * Form fields that stand for the headers of a PUT: x-amz-meta-*, acl, and
 * the headers S3's form takes (Content-Type, Cache-Control,
 * Content-Disposition, Content-Encoding, Expires; not Content-Language).
 */
function headersOf(fields: Map<string, string>): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of fields) {
    if (name === "acl") headers["x-amz-acl"] = value;
    else if (
      name.startsWith("x-amz-meta-") ||
      ["content-type", "cache-control", "content-disposition", "content-encoding", "expires"].includes(name)
    )
      headers[name] = value;
  }
  return headers;
}

/**
 * POST Object: a browser's form upload to a bucket, signed by a policy
 * document (S3's browser-based uploads). The policy's signer must be
 * allowed s3:PutObject on the key, as a PUT of it would be.
 */
export async function postObject(ctx: S3Context, deps: S3Deps) {
  const bucket = ctx.bucket as string;
  if (!/^multipart\/form-data/i.test(String(ctx.req.headers["content-type"] ?? ""))) {
    throw s3Error("PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data", { Condition: "Content-Type" });
  }
  const form = await readForm(ctx);
  try {
    const { fields } = form;
    const nowMs = Date.now();
    if (fields.has("bucket") && fields.get("bucket") !== bucket) throw s3Error("InvalidArgument", "The bucket field names another bucket");
    fields.set("bucket", bucket);
    const keyField = fields.get("key");
    if (keyField === undefined) throw s3Error("InvalidArgument", "Bucket POST must contain a field named 'key'.");
    const principal = signerOf(fields, deps.identities, ctx);
    const range = fields.has("policy") ? checkPolicy(fields.get("policy") as string, fields, nowMs) : undefined;
    // S3's one variable in a key: the name of the file the browser sends.
    const key = keyField.replaceAll(FILENAME_VARIABLE, form.filename);
    checkKey(key);
    if (key.endsWith("/")) throw s3Error("InvalidArgument", 'A key ending in "/" names a folder and holds no bytes in koine', { Key: key });
    const signed: S3Context = { ...ctx, principal, key };
    await deps.client.authorize(principal, "s3:PutObject", pathOf(bucket, key));
    const dir = await requireBucket(deps.client, bucket);
    const info = await deps.client.writeFile(pathOf(bucket, key), withinRange(form.file, range), {
      attributes: attributesFrom(signed, dir, headersOf(fields)),
    });
    const etag = quoteEtag(info.etag);
    const location = `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
    const redirect = fields.get("success_action_redirect") ?? fields.get("redirect");
    if (redirect) {
      let target: URL;
      try {
        target = new URL(redirect);
      } catch {
        target = new URL("http://invalid");
      }
      if (target.protocol === "http:" || target.protocol === "https:") {
        target.searchParams.set("bucket", bucket);
        target.searchParams.set("key", key);
        target.searchParams.set("etag", etag);
        return ctx.reply.code(303).header("location", target.href).header("etag", etag).send();
      }
    }
    ctx.reply.header("etag", etag).header("location", location);
    const status = fields.get("success_action_status");
    if (status === "201") {
      return ctx.reply
        .code(201)
        .type("application/xml")
        .send(s3Xml("PostResponse", { Location: location, Bucket: bucket, Key: key, ETag: etag }, false));
    }
    return ctx.reply.code(status === "200" ? 200 : 204).send();
  } finally {
    // Whatever was not read of the request (a refused form) is drained, so that the answer goes out.
    form.file.resume();
  }
}
