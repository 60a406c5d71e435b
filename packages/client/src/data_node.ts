import { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { DATA_SIGNATURE_HEADER, type DataRequestSigner } from "@koine/access";
import { requestIdNow } from "@koine/log";
import {
  type BlockTarget,
  type ConcatRequest,
  ErrorCode,
  isErrorCode,
  KoineError,
  type ReadRange,
  type WriteTarget,
  type WrittenData,
} from "@koine/protocol";
import { Pool } from "undici";

/** What a front-end needs of a cache node: read a range, write through, keep a block in cache only, concatenate. */
export interface DataNode {
  /** The bytes of the range: a stream, or a buffer when the node has them at hand. */
  read(range: ReadRange): Promise<Readable | Buffer>;
  write(target: WriteTarget, body: AsyncIterable<Uint8Array>): Promise<WrittenData>;
  writeBlock(target: BlockTarget, body: AsyncIterable<Uint8Array>): Promise<{ size: number }>;
  concat(request: ConcatRequest): Promise<WrittenData>;
}

/** The node could not be reached at all: another node may serve instead. */
export class NodeUnreachableError extends KoineError {
  override name = "NodeUnreachableError";

  constructor(url: string, cause: unknown) {
    super(ErrorCode.Unavailable, `Cannot reach cache node ${url}`, { cause });
  }
}

function query(params: Record<string, string | number | boolean | readonly number[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, Array.isArray(v) ? v.join(",") : String(v));
  return q.toString();
}

const CONNECT_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "EPIPE",
  // The pool was dropped (its node stopped answering) while this request waited or ran.
  "UND_ERR_DESTROYED",
  "UND_ERR_CLOSED",
]);

/** A cache node over HTTP, with a keep-alive connection pool. */
export class HttpDataNode implements DataNode {
  readonly url: string;
  readonly #pool: Pool;

  readonly #signer: DataRequestSigner;

  /** A cache node at `url`, to which requests go signed with `signer` (the cluster key); an https one checked against `ca` too. */
  constructor(url: string, signer: DataRequestSigner, ca?: Buffer) {
    this.url = url;
    this.#signer = signer;
    // A node cut off answers nothing: give up on it after these (another node reads through instead).
    this.#pool = new Pool(url, {
      connections: 32,
      keepAliveTimeout: 60_000,
      connect: { timeout: 3_000, ...(ca ? { ca: [...rootCertificates, ca.toString()] } : {}) },
      headersTimeout: 10_000,
      bodyTimeout: 30_000,
    });
  }

  async #call(options: Parameters<Pool["request"]>[0]) {
    let res: Awaited<ReturnType<Pool["request"]>>;
    const requestId = requestIdNow();
    try {
      const headers: Record<string, string> = {
        ...(options.headers as Record<string, string>),
        [DATA_SIGNATURE_HEADER]: this.#signer.sign(options.method, options.path),
        ...(requestId === undefined ? {} : { "x-request-id": requestId }),
      };
      res = await this.#pool.request({ ...options, headers });
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (CONNECT_ERRORS.has(code)) throw new NodeUnreachableError(this.url, err);
      throw err;
    }
    if (res.statusCode >= 300) {
      const text = await res.body.text();
      let code: string = ErrorCode.Internal;
      let message = text;
      try {
        const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
        if (isErrorCode(parsed.code)) code = parsed.code;
        if (typeof parsed.message === "string") message = parsed.message;
      } catch {
        // not JSON: keep the text
      }
      throw new KoineError(code as ErrorCode, message);
    }
    return res;
  }

  async read(range: ReadRange): Promise<Readable> {
    const res = await this.#call({ method: "GET", path: `/data?${query(range)}` });
    return res.body;
  }

  async write(target: WriteTarget, body: AsyncIterable<Uint8Array>): Promise<WrittenData> {
    return (await this.#put(`/data?${query(target)}`, body)) as WrittenData;
  }

  async writeBlock(target: BlockTarget, body: AsyncIterable<Uint8Array>): Promise<{ size: number }> {
    return (await this.#put(`/block?${query(target)}`, body)) as { size: number };
  }

  async #put(path: string, body: AsyncIterable<Uint8Array>): Promise<unknown> {
    const res = await this.#call({
      method: "PUT",
      path,
      body: Readable.from(body, { objectMode: false }),
      headers: { "content-type": "application/octet-stream" },
    });
    return res.body.json();
  }

  async concat(request: ConcatRequest): Promise<WrittenData> {
    const res = await this.#call({
      method: "POST",
      path: "/concat",
      body: JSON.stringify(request),
      headers: { "content-type": "application/json" },
    });
    return (await res.body.json()) as WrittenData;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** Drops every connection at once, requests under way included. */
  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
