import { AwsClient } from "aws4fetch";

/** A signed-in user: every call is signed in the browser (SigV4), so the secret never leaves it. */
export interface Session {
  accessKey: string;
  /** Whether the admin API answers this user (the overview, jobs, mounts and policies are its). */
  admin: boolean;
  /** A signed request to this origin (the admin API, or S3 under /s3). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** An admin API call: its status and JSON. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
}

/**
 * Checks a key pair by a signed S3 ListBuckets (any user may), then asks the
 * admin API whether it is an admin's; the API's refusal when it is no user.
 */
export async function signIn(accessKey: string, secretKey: string): Promise<Session | string> {
  const session = signedSession(accessKey, secretKey);
  const res = await session.fetch("/s3/");
  if (!res.ok) return /<Code>([^<]*)</.exec(await res.text())?.[1] ?? `HTTP ${res.status}`;
  const { status } = await session.call("GET", "/api/v1/services");
  return { ...session, admin: status === 200 };
}

function signedSession(accessKey: string, secretKey: string): Omit<Session, "admin"> {
  const aws = new AwsClient({ accessKeyId: accessKey, secretAccessKey: secretKey, service: "s3", region: "us-east-1" });
  const signed = (path: string, init: RequestInit = {}) => aws.fetch(new URL(path, location.origin).href, init);
  return {
    accessKey,
    fetch: signed,
    async call(method, path, body) {
      const res = await signed(path, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = text === "" ? {} : JSON.parse(text);
      } catch {
        json = { status: text };
      }
      return { status: res.status, json };
    },
  };
}
