import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { type ChecksumAlgorithm, checksumAlgorithm, type RunningChecksum, startChecksum } from "./checksums.ts";
import { S3Error, s3Error } from "./errors.ts";
import { type Authorization, EMPTY_SHA256, hmac } from "./sigv4.ts";

const MAX_CHUNK_HEADER = 4096;

/** The request body, raw, failing with RequestTimeout when the client goes quiet. */
async function* rawBody(req: IncomingMessage, idleMs: number): AsyncGenerator<Buffer> {
  const it = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    let next: IteratorResult<Buffer>;
    try {
      next = await Promise.race([
        it.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(s3Error("RequestTimeout")), idleMs);
        }),
      ]);
    } catch (err) {
      if (err instanceof S3Error) throw err;
      throw s3Error("IncompleteBody");
    } finally {
      clearTimeout(timer);
    }
    if (next.done) {
      // (A request made by fastify's inject() has no `complete`: it always ends whole.)
      if (req.complete === false) throw s3Error("IncompleteBody");
      return;
    }
    yield next.value;
  }
}

/** Reads exact byte counts and lines off a stream of chunks. */
class ChunkReader {
  readonly #it: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);

  constructor(source: AsyncIterable<Buffer>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    const next = await this.#it.next();
    if (next.done) return false;
    this.#buf = this.#buf.length === 0 ? next.value : Buffer.concat([this.#buf, next.value]);
    return true;
  }

  /** A line without its CRLF. */
  async line(): Promise<string> {
    for (;;) {
      const end = this.#buf.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buf.subarray(0, end).toString("latin1");
        this.#buf = this.#buf.subarray(end + 2);
        return line;
      }
      if (this.#buf.length > MAX_CHUNK_HEADER) throw s3Error("InvalidRequest", "An aws-chunked header line is too long");
      if (!(await this.#fill())) throw s3Error("IncompleteBody");
    }
  }

  /** Up to `max` bytes (at least one). */
  async some(max: number): Promise<Buffer> {
    if (this.#buf.length === 0 && !(await this.#fill())) throw s3Error("IncompleteBody");
    const out = this.#buf.subarray(0, max);
    this.#buf = this.#buf.subarray(out.length);
    return out;
  }

  async atEnd(): Promise<boolean> {
    return this.#buf.length === 0 && !(await this.#fill());
  }
}

/**
 * Decodes an aws-chunked body, verifying each chunk signature (and the
 * trailer signature) when the body is signed. Trailers land in `trailers`.
 */
async function* awsChunked(
  source: AsyncIterable<Buffer>,
  auth: Authorization,
  signed: boolean,
  trailers: Map<string, string>,
): AsyncGenerator<Buffer> {
  const reader = new ChunkReader(source);
  let previous = auth.seedSignature;
  const chunkSignature = (hash: string) =>
    hmac(auth.signingKey, ["AWS4-HMAC-SHA256-PAYLOAD", auth.amzDate, auth.scope, previous, EMPTY_SHA256, hash].join("\n")).toString("hex");
  for (;;) {
    const header = await reader.line();
    const [sizeText, ...extensions] = header.split(";");
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText ?? "")) throw s3Error("InvalidRequest", "The aws-chunked framing is malformed");
    const size = Number.parseInt(sizeText as string, 16);
    const claimed = extensions.find((e) => e.startsWith("chunk-signature="))?.slice("chunk-signature=".length);
    if (signed && !claimed) throw s3Error("SignatureDoesNotMatch", "A chunk has no signature");
    const sha = signed ? createHash("sha256") : undefined;
    let left = size;
    while (left > 0) {
      const data = await reader.some(left);
      left -= data.length;
      sha?.update(data);
      yield data;
    }
    if (signed) {
      const expected = chunkSignature(sha?.digest("hex") ?? EMPTY_SHA256);
      if (expected !== claimed) throw s3Error("SignatureDoesNotMatch", "A chunk signature does not match");
      previous = expected;
    }
    if (size === 0) break;
    if ((await reader.line()) !== "") throw s3Error("InvalidRequest", "The aws-chunked framing is malformed");
  }
  const lines: string[] = [];
  for (;;) {
    const line = await reader.line().catch((err) => {
      // Some clients end with "0\r\n" and no final empty line.
      if (err instanceof S3Error && err.code === "IncompleteBody" && lines.length === 0) return "";
      throw err;
    });
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) throw s3Error("InvalidRequest", "A trailer line is malformed");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "x-amz-trailer-signature") {
      const canonical = lines.map((l) => `${l}\n`).join("");
      const hash = createHash("sha256").update(canonical).digest("hex");
      const expected = hmac(auth.signingKey, ["AWS4-HMAC-SHA256-TRAILER", auth.amzDate, auth.scope, previous, hash].join("\n")).toString(
        "hex",
      );
      if (expected !== value) throw s3Error("SignatureDoesNotMatch", "The trailer signature does not match");
    } else {
      trailers.set(name, value);
      lines.push(`${name}:${value}`);
    }
  }
  if (!(await reader.atEnd())) throw s3Error("InvalidRequest", "Bytes follow the end of the aws-chunked body");
}

/** A request's headers; a presigned URL carries its signed x-amz-* headers in the query: they count as headers. */
function headersOf(req: IncomingMessage, auth: Authorization): Record<string, unknown> {
  return { ...auth.hoistedHeaders, ...req.headers };
}

/**
 * The checksums a request says its body has: its x-amz-checksum-* headers
 * (unless `headersToo` is false: CompleteMultipartUpload's are the
 * object's) and the trailers it declares.
 */
export function claimedChecksums(
  req: IncomingMessage,
  auth: Authorization,
  headersToo = true,
): { algorithm: ChecksumAlgorithm; in: "header" | "trailer" }[] {
  const claimed: { algorithm: ChecksumAlgorithm; in: "header" | "trailer" }[] = [];
  for (const name of headersToo ? Object.keys(headersOf(req, auth)) : []) {
    const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(name);
    if (m && m[1] !== "mode" && m[1] !== "type" && m[1] !== "algorithm")
      claimed.push({ algorithm: checksumAlgorithm(m[1] as string), in: "header" });
  }
  const trailerDeclared = String(req.headers["x-amz-trailer"] ?? "").toLowerCase();
  for (const name of trailerDeclared
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(name);
    if (!m) throw s3Error("InvalidArgument", `Trailer ${name} is not supported`);
    claimed.push({ algorithm: checksumAlgorithm(m[1] as string), in: "trailer" });
  }
  return claimed;
}

/** Which checksums a body is checked against beyond those it was sent with. */
export interface BodyChecksums {
  /** Computed whether sent or not (a multipart upload's parts carry their upload's). */
  compute?: ChecksumAlgorithm;
  /** The request's x-amz-checksum-* headers are of an object, not of this body (CompleteMultipartUpload). */
  headersAreTheObjects?: boolean;
}

export interface DecodedBody {
  /** The decoded bytes; iterating fails, at the end, if any check fails. */
  body: AsyncIterable<Buffer>;
  /** The decoded length the client declared, when it did. */
  length: number | undefined;
  /**
   * The checksums the client sent (algorithm → base64), filled in once the
   * body has been read and every one of them verified.
   */
  checksums: Record<string, string>;
}

/**
 * The body of a signed request, decoded (aws-chunked or raw) and verified
 * as it streams: payload SHA-256, chunk signatures, Content-MD5, checksums
 * and length. A failed check throws at the end of the stream, so nothing
 * built on it is committed.
 */
export function decodeBody(req: IncomingMessage, auth: Authorization, idleMs: number, options: BodyChecksums = {}): DecodedBody {
  const mode = auth.payloadHash;
  const trailers = new Map<string, string>();
  let source: AsyncIterable<Buffer> = rawBody(req, idleMs);
  let declared: number | undefined;
  const contentLength = req.headers["content-length"];
  if (mode.startsWith("STREAMING-")) {
    if (mode.includes("ECDSA")) throw s3Error("NotImplemented", "SigV4a (ECDSA) signed payloads are not implemented");
    const signed = mode.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    if (!signed && mode !== "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
      throw s3Error("InvalidArgument", `Unknown x-amz-content-sha256 value ${mode}`);
    source = awsChunked(source, auth, signed, trailers);
    const decoded = req.headers["x-amz-decoded-content-length"];
    declared = decoded === undefined ? undefined : Number(decoded);
  } else {
    if (mode !== "UNSIGNED-PAYLOAD" && !/^[0-9a-f]{64}$/.test(mode)) {
      throw s3Error("InvalidArgument", "x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING- value");
    }
    declared = contentLength === undefined ? undefined : Number(contentLength);
  }
  if (declared !== undefined && (!Number.isSafeInteger(declared) || declared < 0)) {
    throw s3Error("InvalidArgument", "The declared content length is not a number");
  }

  const payloadSha = /^[0-9a-f]{64}$/.test(mode) ? createHash("sha256") : undefined;
  const md5Header = req.headers["content-md5"] as string | undefined;
  if (md5Header !== undefined && !/^[A-Za-z0-9+/]{22}==$/.test(md5Header)) throw s3Error("InvalidDigest");
  const md5 = md5Header ? createHash("md5") : undefined;
  const headers = headersOf(req, auth);
  const checksums: { sum: RunningChecksum; claimed: "header" | "trailer" | "none" }[] = claimedChecksums(
    req,
    auth,
    !options.headersAreTheObjects,
  ).map((c) => ({ sum: startChecksum(c.algorithm), claimed: c.in }));
  const compute = options.compute;
  if (compute && !checksums.some((c) => c.sum.algorithm === compute)) checksums.push({ sum: startChecksum(compute), claimed: "none" });

  async function* verified(): AsyncGenerator<Buffer> {
    let length = 0;
    for await (const chunk of source) {
      length += chunk.length;
      if (declared !== undefined && length > declared) throw s3Error("InvalidRequest", "The body is longer than its declared length");
      payloadSha?.update(chunk);
      md5?.update(chunk);
      for (const c of checksums) c.sum.update(chunk);
      yield chunk;
    }
    if (declared !== undefined && length !== declared) throw s3Error("IncompleteBody");
    if (payloadSha && payloadSha.digest("hex") !== mode) throw s3Error("XAmzContentSHA256Mismatch");
    if (md5 && md5.digest("base64") !== md5Header)
      throw s3Error("BadDigest", "The Content-MD5 you specified did not match what we received.");
    for (const c of checksums) {
      const header = `x-amz-checksum-${c.sum.algorithm}`;
      const digest = await c.sum.digest();
      if (c.claimed !== "none") {
        const claimed = c.claimed === "trailer" ? trailers.get(header) : (headers[header] as string | undefined);
        if (claimed === undefined) throw s3Error("InvalidRequest", `The trailer ${header} was declared but not sent`);
        if (claimed !== digest) throw s3Error("BadDigest", `The ${header} you specified did not match the calculated checksum.`);
      }
      verifiedChecksums[c.sum.algorithm] = digest;
    }
  }
  const verifiedChecksums: Record<string, string> = {};
  return { body: verified(), length: declared, checksums: verifiedChecksums };
}

/**
 * Reads a small body whole (XML requests), with every check of
 * {@link decodeBody}; more than `limit` bytes is `tooLarge()`.
 */
export async function readSmallBody(
  req: IncomingMessage,
  auth: Authorization,
  idleMs: number,
  limit: number,
  tooLarge: () => S3Error = () => s3Error("MalformedXML", `The request body is larger than ${limit} bytes`),
  checksums: BodyChecksums = {},
): Promise<Buffer> {
  const { body } = decodeBody(req, auth, idleMs, checksums);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
