import { BlockList, isIP } from "node:net";
import type { Principal } from "./principal.ts";

/** Facts of a request a policy condition may test beyond the principal's (s3:prefix of a listing). */
export interface PolicyContext {
  prefix?: string;
}

/** Why a policy was refused, in S3's words (MalformedPolicy). */
export class PolicyError extends Error {
  override name = "PolicyError";
}

interface Statement {
  effect: "Allow" | "Deny";
  /** Access keys, or "*" for anyone (anonymous too). */
  principals: string[];
  actions: RegExp[];
  notActions: RegExp[];
  resources: RegExp[];
  conditions: Condition[];
  /** Open to anyone, with no condition that narrows who (for the public access block). */
  isPublic: boolean;
}

interface Condition {
  operator: string;
  key: string;
  values: string[];
}

const CONDITION_KEYS = new Set(["aws:sourceip", "aws:securetransport", "s3:prefix", "aws:username"]);
const STRING_OPERATORS = new Set(["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"]);
const OPERATORS = new Set([...STRING_OPERATORS, "IpAddress", "NotIpAddress", "Bool"]);

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** A policy's wildcard pattern ("s3:Get*", "arn:aws:s3:::b/k?") as a whole-string expression. */
function wildcard(pattern: string, flags = ""): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, flags);
}

function strings(value: unknown, what: string): string[] {
  const values = list(value);
  if (values.length === 0 || values.some((v) => typeof v !== "string"))
    throw new PolicyError(`${what} must be a string or a list of strings`);
  return values as string[];
}

/** "*", {"AWS": "*"}, an access key, or an IAM user ARN whose user name is the access key. */
function principalsOf(value: unknown): string[] {
  if (value === "*") return ["*"];
  if (!value || typeof value !== "object" || !("AWS" in value)) throw new PolicyError('Principal must be "*" or {"AWS": ...}');
  return strings((value as { AWS: unknown }).AWS, "Principal.AWS").map((p) => {
    if (p === "*") return "*";
    const user = /^arn:aws:iam::[^:]*:user\/(.+)$/.exec(p)?.[1] ?? p;
    if (!/^[A-Za-z0-9._-]{3,128}$/.test(user)) throw new PolicyError(`Invalid principal in policy: ${p}`);
    return user;
  });
}

function conditionsOf(value: unknown): Condition[] {
  if (value === undefined) return [];
  if (!value || typeof value !== "object") throw new PolicyError("Condition must be an object");
  const out: Condition[] = [];
  for (const [operator, body] of Object.entries(value)) {
    if (!OPERATORS.has(operator)) throw new PolicyError(`Condition operator ${operator} is not supported`);
    if (!body || typeof body !== "object") throw new PolicyError(`Condition ${operator} must be an object`);
    for (const [key, values] of Object.entries(body)) {
      if (!CONDITION_KEYS.has(key.toLowerCase())) throw new PolicyError(`Condition key ${key} is not supported`);
      const texts = strings(values, `Condition ${operator} ${key}`);
      if (operator.endsWith("IpAddress")) for (const t of texts) cidr(t);
      out.push({ operator, key: key.toLowerCase(), values: texts });
    }
  }
  return out;
}

function cidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } {
  const [address = "", bits] = text.split("/");
  const version = isIP(address);
  const prefix = bits === undefined ? (version === 6 ? 128 : 32) : Number(bits);
  if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (version === 6 ? 128 : 32))
    throw new PolicyError(`Invalid IP range in policy: ${text}`);
  return { address, prefix, family: version === 6 ? "ipv6" : "ipv4" };
}

function inRanges(ip: string, ranges: string[]): boolean {
  const blocks = new BlockList();
  for (const r of ranges) {
    const { address, prefix, family } = cidr(r);
    blocks.addSubnet(address, prefix, family);
  }
  const plain = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  const version = isIP(plain);
  return version !== 0 && blocks.check(plain, version === 6 ? "ipv6" : "ipv4");
}

/**
 * Parses and checks a bucket policy (JSON text) of `bucket`: Allow and Deny
 * statements on s3 actions and on resources of this bucket, with the
 * aws:SourceIp, aws:SecureTransport, s3:prefix and aws:username conditions.
 * Anything it cannot honour is refused rather than ignored.
 */
export function parsePolicy(text: string, bucket: string): Statement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PolicyError("Policies must be valid JSON");
  }
  if (!doc || typeof doc !== "object") throw new PolicyError("A policy is a JSON object");
  const { Version, Statement: body } = doc as { Version?: unknown; Statement?: unknown };
  if (Version !== undefined && Version !== "2012-10-17" && Version !== "2008-10-17") throw new PolicyError("Unknown policy Version");
  const statements = list(body);
  if (statements.length === 0) throw new PolicyError("Missing required field Statement");
  return statements.map((s) => {
    if (!s || typeof s !== "object") throw new PolicyError("Each statement is a JSON object");
    const st = s as Record<string, unknown>;
    for (const key of Object.keys(st)) {
      if (!["Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "Condition"].includes(key))
        throw new PolicyError(`Statement field ${key} is not supported`);
    }
    if (st.Effect !== "Allow" && st.Effect !== "Deny") throw new PolicyError("Effect must be Allow or Deny");
    if ((st.Action === undefined) === (st.NotAction === undefined)) throw new PolicyError("A statement has either Action or NotAction");
    const action = (a: string) => {
      if (a !== "*" && !/^s3:[A-Za-z*?]+$/.test(a)) throw new PolicyError(`Policy has invalid action: ${a}`);
      return wildcard(a, "i");
    };
    const resources = strings(st.Resource, "Resource").map((r) => {
      const rest = r.startsWith("arn:aws:s3:::") ? r.slice("arn:aws:s3:::".length) : undefined;
      const name = rest?.split("/")[0];
      if (rest === undefined || (name !== bucket && name !== "*")) throw new PolicyError(`Policy has invalid resource: ${r}`);
      return wildcard(r);
    });
    const principals = principalsOf(st.Principal);
    const conditions = conditionsOf(st.Condition);
    const narrowing = conditions.some(
      (c) => c.key === "aws:username" || (c.operator === "IpAddress" && !c.values.some((v) => v.endsWith("/0"))),
    );
    return {
      effect: st.Effect,
      principals,
      actions: st.Action === undefined ? [] : strings(st.Action, "Action").map(action),
      notActions: st.NotAction === undefined ? [] : strings(st.NotAction, "NotAction").map(action),
      resources,
      conditions,
      isPublic: st.Effect === "Allow" && principals.includes("*") && !narrowing,
    };
  });
}

/** Whether a policy (already checked by {@link parsePolicy}) opens anything to everyone. */
export function isPublicPolicy(text: string, bucket: string): boolean {
  return parsePolicy(text, bucket).some((s) => s.isPublic);
}

const PARSED_POLICIES = 256;
const parsed = new Map<string, Statement[]>();

/** A stored policy's statements, parsed once for the next requests. */
function statementsOf(text: string, bucket: string): Statement[] {
  const key = `${bucket}\n${text}`;
  let statements = parsed.get(key);
  if (statements === undefined) {
    statements = parsePolicy(text, bucket);
    if (parsed.size >= PARSED_POLICIES) parsed.delete(parsed.keys().next().value as string);
    parsed.set(key, statements);
  }
  return statements;
}

function conditionHolds(c: Condition, principal: Principal, context: PolicyContext): boolean {
  const actual =
    c.key === "aws:sourceip"
      ? principal.sourceIp
      : c.key === "aws:securetransport"
        ? String(principal.secureTransport)
        : c.key === "aws:username"
          ? principal.anonymous
            ? undefined
            : principal.user
          : context.prefix;
  switch (c.operator) {
    case "IpAddress":
      return inRanges(actual ?? "", c.values);
    case "NotIpAddress":
      return !inRanges(actual ?? "", c.values);
    case "Bool":
      return c.values.some((v) => v.toLowerCase() === actual);
    case "StringEquals":
      return actual !== undefined && c.values.includes(actual);
    case "StringNotEquals":
      return actual === undefined || !c.values.includes(actual);
    case "StringLike":
      return actual !== undefined && c.values.some((v) => wildcard(v).test(actual));
    default:
      return actual === undefined || !c.values.some((v) => wildcard(v).test(actual));
  }
}

/**
 * What a bucket policy says of one request: "deny" when a Deny statement
 * matches (it wins), "allow" when an Allow does, undefined when none
 * speaks. With `restrictPublic` (the public access block's
 * RestrictPublicBuckets), public Allow statements speak to nobody.
 */
export function policyVerdict(
  text: string,
  principal: Principal,
  action: string,
  resource: string,
  context: PolicyContext,
  restrictPublic: boolean,
): "allow" | "deny" | undefined {
  const bucket = resource.slice("arn:aws:s3:::".length).split("/")[0] as string;
  let verdict: "allow" | undefined;
  for (const s of statementsOf(text, bucket)) {
    if (!s.principals.includes("*") && (principal.anonymous || !s.principals.includes(principal.user))) continue;
    if (s.actions.length > 0 ? !s.actions.some((a) => a.test(action)) : s.notActions.some((a) => a.test(action))) continue;
    if (!s.resources.some((r) => r.test(resource))) continue;
    if (!s.conditions.every((c) => conditionHolds(c, principal, context))) continue;
    if (s.effect === "Deny") return "deny";
    if (!(restrictPublic && s.isPublic)) verdict = "allow";
  }
  return verdict;
}
