import { AwsClient } from "aws4fetch";

/** A signed-in user: every call is signed in the browser (SigV4), so the secret never leaves it. */
export interface Session {
  accessKey: string;
  /** A signed request to this origin (the admin API, or S3 under /s3). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** An admin API call: its status and JSON. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
}

export function signIn(accessKey: string, secretKey: string): Session {
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
