import type { Identities, Principal } from "@koine/access";
import type { FileSystemClient } from "@koine/client";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Authorization } from "./sigv4.ts";

/** What every S3 operation handler gets. */
export interface S3Context {
  req: FastifyRequest;
  reply: FastifyReply;
  bucket: string | undefined;
  key: string | undefined;
  /** Query parameters (first value of each). */
  query: Map<string, string>;
  /** How the request was signed (the body is checked against it). */
  auth: Authorization;
  /** Who asks: what every access decision is about. */
  principal: Principal;
  requestId: string;
}

export interface S3Deps {
  client: FileSystemClient;
  /** The users requests are signed by (a browser's form upload is checked by its handler). */
  identities: Identities;
  region: string;
  /** A body that sends nothing for this long fails with RequestTimeout. */
  bodyIdleTimeoutMs: number;
}

export type S3Handler = (ctx: S3Context, deps: S3Deps) => Promise<unknown>;

/** An S3 owner element for a user. */
export function ownerOf(id: string): { ID: string; DisplayName: string } {
  return { ID: id, DisplayName: id };
}

/** The last date formatted (a run of GETs of one object formats the same). */
let lastHttpDate = { ms: Number.NaN, text: "" };

/** "Wed, 21 Oct 2015 07:28:00 GMT" */
export function httpDate(ms: number): string {
  if (ms !== lastHttpDate.ms) lastHttpDate = { ms, text: new Date(ms).toUTCString() };
  return lastHttpDate.text;
}

/** "2015-10-21T07:28:00.000Z" */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/** The ETag of no bytes. */
export const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}
