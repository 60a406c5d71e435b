import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { DATA_SIGNATURE_HEADER, type DataRequestSigner, type PageSealer } from "@koine/access";
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

/**
 * The pages of `pageSize` bytes that a range of at least one byte covers,
 * `first` to `last`, and the part of page `index` that the range takes.
 */
export function rangePages(
  range: { offset: number; length: number },
  pageSize: number,
): { first: number; last: number; slice(page: Buffer, index: number): Buffer } {
  const end = range.offset + range.length;
  return {
    first: Math.floor(range.offset / pageSize),
    last: Math.floor((end - 1) / pageSize),
    slice: (page, index) => page.subarray(Math.max(range.offset - index * pageSize, 0), Math.min(end - index * pageSize, page.length)),
  };
}

/** The bytes a node read gives, as chunks to iterate: a buffer is one. */
export function asChunks(bytes: Readable | Buffer): AsyncIterable<Buffer> | Buffer[] {
  return Buffer.isBuffer(bytes) ? [bytes] : (bytes as AsyncIterable<Buffer>);
}

/** A cache node on this host, as a process that cannot hold it in memory sees it: the directory of its page files. */
export interface LocalPages {
  dir: string;
  pageSize: number;
}

/** How many bytes of pages read from a local node's files a process keeps in memory. */
const PAGE_FILE_MEMORY_BYTES = 64 * 1024 * 1024;

/**
 * The page files of a cache node on this host, read by a process that cannot
 * hold the node in memory: a page there under a valid seal is that version's
 * bytes (a content id names one version, and a page file is written whole,
 * then renamed), so the most recent ones are kept in memory here too (first
 * in, first out), and no HTTP hop is needed for them.
 */
export class LocalPageFiles {
  readonly pageSize: number;
  readonly #dir: string;
  readonly #sealer: PageSealer;
  readonly #memory = new Map<string, Buffer>();
  #memoryBytes = 0;

  constructor(pages: LocalPages, sealer: PageSealer) {
    this.#dir = pages.dir;
    this.pageSize = pages.pageSize;
    this.#sealer = sealer;
  }

  /** Page `index` of `range`'s version, when its file is here whole under a valid seal. */
  async page(range: ReadRange, index: number): Promise<Buffer | undefined> {
    const name = `${range.contentId}/${index}`;
    const kept = this.#memory.get(name);
    if (kept) return kept;
    const file = await readFile(join(this.#dir, name)).catch(() => undefined);
    const page = file && this.#sealer.open(name, file, Math.min(this.pageSize, range.fileSize - index * this.pageSize));
    if (page) this.#keep(name, page);
    return page;
  }

  #keep(name: string, page: Buffer): void {
    this.#memory.set(name, page);
    this.#memoryBytes += page.length;
    for (const [oldest, bytes] of this.#memory) {
      if (this.#memoryBytes <= PAGE_FILE_MEMORY_BYTES) break;
      this.#memory.delete(oldest);
      this.#memoryBytes -= bytes.length;
    }
  }
}

/**
 * A cache node on this host, read through its page files ({@link LocalPageFiles}).
 * A page that is not there, or fails its seal, and every write, go to the
 * node over HTTP, which reads through and keeps or drops as ever.
 */
export class PageFileNode implements DataNode {
  readonly #files: LocalPageFiles;
  readonly #node: DataNode;

  constructor(files: LocalPageFiles, node: DataNode) {
    this.#files = files;
    this.#node = node;
  }

  async read(range: ReadRange): Promise<Readable | Buffer> {
    const P = this.#files.pageSize;
    const end = range.offset + range.length;
    if (range.length === 0 || end > range.fileSize) return this.#node.read(range);
    const { first, last, slice } = rangePages(range, P);
    const firstPage = await this.#files.page(range, first);
    if (!firstPage) return this.#node.read(range);
    if (first === last) return slice(firstPage, first);
    const files = this.#files;
    const node = this.#node;
    async function* pages(): AsyncGenerator<Buffer> {
      yield slice(firstPage as Buffer, first);
      for (let i = first + 1; i <= last; i++) {
        const page = await files.page(range, i);
        if (!page) {
          // The rest from the node, which reads through what is missing.
          yield* asChunks(await node.read({ ...range, offset: i * P, length: end - i * P }));
          return;
        }
        yield slice(page, i);
      }
    }
    return Readable.from(pages(), { objectMode: false });
  }

  write(target: WriteTarget, body: AsyncIterable<Uint8Array>): Promise<WrittenData> {
    return this.#node.write(target, body);
  }

  writeBlock(target: BlockTarget, body: AsyncIterable<Uint8Array>): Promise<{ size: number }> {
    return this.#node.writeBlock(target, body);
  }

  concat(request: ConcatRequest): Promise<WrittenData> {
    return this.#node.concat(request);
  }
}
