/**
 * Clients of koine's dialects for tests: a stock S3 client that does not
 * retry, requests signed by AWS's own signer (also on a raw socket), and the
 * Alluxio, admin and Ozone REST calls as the stock clients make them.
 * @module
 */

import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import { S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

import { type Credentials, TEST_CREDENTIALS } from "./alluxio.ts";

export type { AlluxioAnswer, Caller, Credentials } from "./alluxio.ts";
export {
  adminCall,
  alluxioCall,
  alluxioKeyPath,
  alluxioOk,
  alluxioRead,
  alluxioReadAsIs,
  alluxioWrite,
  basicAuth,
  streamCall,
  TEST_CREDENTIALS,
} from "./alluxio.ts";
export { requestAsIs } from "./as_is.ts";
export { type OzoneAnswer, ozoneCall, ozoneDate } from "./ozone.ts";
export { HANG_MS, missingOrWrong, resumedAfter, S3Load, type Tally } from "./s3_load.ts";
export type { RawResponse, SignOptions } from "./s3_raw.ts";
export { presignUrl, rawSignedRequest, signedRequest, signHeaders } from "./s3_raw.ts";

/** A metadata replica's view of itself, from its /metrics at `opsUrl`: whether it leads and the last journal record it applied. */
export async function metadataReplicaState(opsUrl: string, shard = 0): Promise<{ leads: boolean; applied: number } | undefined> {
  const text = await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })
    .then((r) => r.text())
    .catch(() => undefined);
  if (text === undefined) return undefined;
  const value = (name: string) => Number(text.match(new RegExp(`^${name}\\{shard="${shard}"\\} (\\d+)`, "m"))?.[1] ?? Number.NaN);
  return { leads: value("koine_metadata_leader") === 1, applied: value("koine_metadata_journal_applied_seq") };
}

/**
 * A stock S3 client for `endpoint` (path style, default checksum settings)
 * that does not retry unless told to: a test sees the server's first answer.
 * An https endpoint's certificate is checked against `ca` (and the system's CAs).
 */
/** bob: a user with no special standing, beside the admin koine ({@link TEST_CREDENTIALS}). */
export const BOB: Credentials = { accessKeyId: "bob", secretAccessKey: "bobsecret1" };

/** A cluster's users for tests of who may do what: koine (an admin) and {@link BOB}. */
export const ADMIN_AND_BOB = {
  users: [
    { accessKey: TEST_CREDENTIALS.accessKeyId, secretKey: TEST_CREDENTIALS.secretAccessKey, admin: true },
    { accessKey: BOB.accessKeyId, secretKey: BOB.secretAccessKey },
  ],
};

export function s3Client(endpoint: string, credentials: Credentials = TEST_CREDENTIALS, maxAttempts = 1, ca?: Buffer): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials,
    maxAttempts,
    ...(ca ? { requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: [...rootCertificates, ca.toString()] }) }) } : {}),
  });
}

/**
 * What an S3 call came to: "ok", or its status and S3 error code
 * ("404 NoSuchKey"); a 304 has no code, so it is "304". Errors that are not
 * answers of the server are thrown.
 */
export function s3Outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "ok",
    (err: unknown) => {
      if (!(err instanceof S3ServiceException)) throw err;
      const status = err.$metadata.httpStatusCode;
      return status === 304 ? "304" : `${status} ${err.name}`;
    },
  );
}
