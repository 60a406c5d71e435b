import { randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { FOLDER_OBJECT } from "@koine/protocol";
import { UfsError } from "./errors.ts";
import { TEMP_PREFIX } from "./local.ts";
import { pathSegments } from "./path.ts";
import { Turns } from "./turns.ts";
import {
  type OwnEntry,
  type Published,
  type PublishTurn,
  type StagedWrite,
  type UfsEntry,
  type UfsStatus,
  type UnderFileSystem,
  UPLOADS_DIR,
} from "./ufs.ts";

/** Settings of an S3 under-store, from mount properties (Alluxio's names). */
export interface S3UfsOptions {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Bucket in the path, not the host name (MinIO, koine, most on-premises stores). */
  forcePathStyle?: boolean;
}

/** Reads S3 settings from mount properties, accepting Alluxio's property names. */
export function s3OptionsFrom(properties: Readonly<Record<string, string>>): S3UfsOptions {
  const pick = (...keys: string[]) => keys.map((k) => properties[k]).find((v) => v !== undefined && v !== "");
  const endpoint = pick("alluxio.underfs.s3.endpoint", "s3.endpoint");
  const region = pick("alluxio.underfs.s3.endpoint.region", "alluxio.underfs.s3.region", "s3.region");
  const accessKeyId = pick("aws.accessKeyId", "s3a.accessKeyId");
  const secretAccessKey = pick("aws.secretKey", "s3a.secretKey");
  const pathStyle = pick("alluxio.underfs.s3.disable.dns.buckets", "s3.path.style");
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(accessKeyId ? { accessKeyId } : {}),
    ...(secretAccessKey ? { secretAccessKey } : {}),
    forcePathStyle: pathStyle === "true",
  };
}

/** S3 limits: a single copy holds up to 5 GiB; bigger objects are copied in parts. */
const MAX_SINGLE_COPY = 5 * 1024 ** 3;
const COPY_PART = 1024 ** 3;
const UPLOAD_PART = 16 * 1024 * 1024;

function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

function statusCodeOf(err: unknown): number | undefined {
  return (err as S3ServiceException).$metadata?.httpStatusCode;
}

function mapS3Error(err: unknown, path: string): never {
  const status = statusCodeOf(err);
  if (status === 404) throw new UfsError("NOT_FOUND", `Cannot find "${path}" in the under-store`, { cause: err });
  if (status === 412) throw new UfsError("STALE", `Cannot read "${path}": it changed in the under-store`, { cause: err });
  if (status === 403) throw new UfsError("PERMISSION_DENIED", `Cannot access "${path}" in the under-store`, { cause: err });
  throw err;
}

/**
 * An under-store on an S3 bucket (below an optional prefix), on any
 * S3-compatible endpoint. Directories are key prefixes, made visible when
 * empty by a "dir/" marker object. A write is staged under a temporary key
 * beside its path and published by a server-side copy, so a path shows the
 * old or the new object, never a mix, and nothing until the commit.
 */
export class S3Ufs implements UnderFileSystem {
  readonly bucket: string;
  /** Key prefix of the root: "" or "some/prefix/". */
  readonly prefix: string;
  readonly #s3: S3Client;
  /** Publishes of one key, in turn. */
  readonly #turns = new Turns();

  constructor(uri: string, options: S3UfsOptions = {}) {
    const url = new URL(uri);
    if (url.protocol !== "s3:" && url.protocol !== "s3a:") throw new UfsError("INVALID_ARGUMENT", `Not an S3 URI: ${uri}`);
    this.bucket = url.hostname;
    if (!this.bucket) throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": it names no bucket`);
    const segments = pathSegments(decodeURIComponent(url.pathname));
    this.prefix = segments.length === 0 ? "" : `${segments.join("/")}/`;
    this.#s3 = new S3Client({
      region: options.region ?? "us-east-1",
      forcePathStyle: options.forcePathStyle ?? false,
      maxAttempts: 3,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
    });
  }

  /** The object key of a store-relative path ("" for the root); a directory's folder object is its "dir/" key. */
  #key(path: string): string {
    const segments = pathSegments(path);
    if (segments.length === 0) return this.prefix.replace(/\/$/, "");
    if (segments.length > 1 && segments[segments.length - 1] === FOLDER_OBJECT) return `${this.prefix}${segments.slice(0, -1).join("/")}/`;
    return `${this.prefix}${segments.join("/")}`;
  }

  /** The key prefix of what is below a directory. */
  #below(path: string): string {
    const key = this.#key(path);
    return key === "" ? "" : `${key}/`;
  }

  async #head(key: string, path: string): Promise<UfsStatus | undefined> {
    try {
      const head = await this.#s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const etag = unquote(head.ETag);
      return { type: "file", size: head.ContentLength ?? 0, mtimeMs: head.LastModified?.getTime() ?? 0, fingerprint: etag, etag };
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      mapS3Error(err, path);
    }
  }

  async #listPage(prefix: string, token: string | undefined, delimiter: boolean, maxKeys = 1000): Promise<ListObjectsV2CommandOutput> {
    return this.#s3.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        MaxKeys: maxKeys,
        ...(delimiter ? { Delimiter: "/" } : {}),
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
  }

  async stat(path: string): Promise<UfsStatus | undefined> {
    const below = this.#below(path);
    if (below === "" || below === this.prefix) {
      await this.#listPage(this.prefix, undefined, true, 1).catch((err) => mapS3Error(err, path));
      return { type: "directory", size: 0, mtimeMs: 0, fingerprint: "" };
    }
    // No file is named "" ("a//" is the directory "" in a): its key would be a's marker.
    const file = pathSegments(path).at(-1) === "" ? undefined : await this.#head(this.#key(path), path);
    if (file) return file;
    const page = await this.#listPage(below, undefined, true, 1).catch((err) => mapS3Error(err, path));
    if ((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0) > 0) {
      return { type: "directory", size: 0, mtimeMs: 0, fingerprint: "" };
    }
    return undefined;
  }

  async list(path: string): Promise<UfsEntry[]> {
    const below = this.#below(path);
    const entries: UfsEntry[] = [];
    let token: string | undefined;
    do {
      const page = await this.#listPage(below, token, true).catch((err) => mapS3Error(err, path));
      for (const p of page.CommonPrefixes ?? []) {
        // A name may be "": "a//" is the directory "" in a.
        const name = (p.Prefix ?? "").slice(below.length, -1);
        if (!name.startsWith(TEMP_PREFIX)) entries.push({ name, type: "directory", size: 0, mtimeMs: 0, fingerprint: "" });
      }
      for (const o of page.Contents ?? []) {
        const name = (o.Key ?? "").slice(below.length);
        if (!name || name.startsWith(TEMP_PREFIX)) continue; // the directory's own marker, or a staged write
        const etag = unquote(o.ETag);
        entries.push({ name, type: "file", size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0, fingerprint: etag, etag });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return entries;
  }

  async openRange(path: string, offset: number, length: number, fingerprint?: string): Promise<Readable> {
    const key = this.#key(path);
    if (length === 0) {
      const status = await this.#head(key, path);
      if (!status) throw new UfsError("NOT_FOUND", `Cannot find "${path}" in the under-store`);
      if (fingerprint !== undefined && status.fingerprint !== fingerprint) {
        throw new UfsError("STALE", `Cannot read "${path}": it changed in the under-store`);
      }
      return Readable.from([]);
    }
    try {
      const res = await this.#s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: `bytes=${offset}-${offset + length - 1}`,
          ...(fingerprint ? { IfMatch: `"${fingerprint}"` } : {}),
        }),
      );
      return res.Body as Readable;
    } catch (err) {
      mapS3Error(err, path);
    }
  }

  async write(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<UfsStatus> {
    await this.#upload(this.#key(path), source, path);
    return (await this.#head(this.#key(path), path)) as UfsStatus;
  }

  async #upload(key: string, source: Readable | AsyncIterable<Uint8Array>, path: string): Promise<void> {
    const body = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    body.on("error", (err) => pass.destroy(err));
    body.pipe(pass);
    const upload = new Upload({
      client: this.#s3,
      params: { Bucket: this.bucket, Key: key, Body: pass },
      partSize: UPLOAD_PART,
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      mapS3Error(err, path);
    }
  }

  async stage(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<StagedWrite> {
    const segments = pathSegments(path);
    const stagedPath = `/${[...segments.slice(0, -1), `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`].join("/")}`;
    await this.#upload(this.#key(stagedPath), source, path);
    return { stagedPath, status: (await this.#head(this.#key(stagedPath), path)) as UfsStatus };
  }

  async publish<T>(stagedPath: string, path: string, turn: PublishTurn<T> = {}): Promise<Published<T>> {
    const staged = await this.#head(this.#key(stagedPath), stagedPath);
    if (!staged) throw new UfsError("NOT_FOUND", `Cannot publish "${path}": its staged bytes are gone`);
    const swapped = await this.#turns.run(this.#key(path), async () => {
      if (turn.proceed && !turn.proceed()) return undefined;
      await this.#copy(this.#key(stagedPath), this.#key(path), staged.size, path);
      // A copy is a new object (its own ETag, and for a multipart copy another one): take its status.
      const status = (await this.#head(this.#key(path), path)) as UfsStatus;
      return { status, result: turn.onSwap?.(status) };
    });
    await this.discard(stagedPath);
    if (!swapped) return { published: false, status: staged, result: undefined };
    return { published: true, status: swapped.status, result: swapped.result };
  }

  /** Server-side copy; in 1 GiB parts above the 5 GiB single-copy limit. */
  async #copy(from: string, to: string, size: number, path: string): Promise<void> {
    const source = `${this.bucket}/${from.split("/").map(encodeURIComponent).join("/")}`;
    try {
      if (size <= MAX_SINGLE_COPY) {
        await this.#s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
        return;
      }
      const { UploadId } = await this.#s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
      const parts: { PartNumber: number; ETag: string }[] = [];
      for (let start = 0, n = 1; start < size; start += COPY_PART, n++) {
        const end = Math.min(size, start + COPY_PART) - 1;
        const part = await this.#s3.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            PartNumber: n,
            CopySource: source,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ PartNumber: n, ETag: part.CopyPartResult?.ETag ?? "" });
      }
      await this.#s3.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      mapS3Error(err, path);
    }
  }

  async discard(stagedPath: string): Promise<void> {
    await this.#s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(stagedPath) })).catch(() => {});
  }

  async mkdir(path: string): Promise<void> {
    const below = this.#below(path);
    if (below === "" || below === this.prefix) return;
    // A file of the name may be there too (keys "a" and "a/b"); the marker may hold the bytes of the folder object: kept.
    if (await this.#head(below, path)) return;
    await this.#s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: below, Body: "" })).catch((err) => mapS3Error(err, path));
  }

  /** Every key below a prefix, page by page. */
  async *#keysBelow(prefix: string, path: string): AsyncGenerator<string[]> {
    let token: string | undefined;
    do {
      const page = await this.#listPage(prefix, token, false).catch((err) => mapS3Error(err, path));
      yield (page.Contents ?? []).map((o) => o.Key ?? "").filter((k) => k !== "");
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *ownEntries(): AsyncIterable<OwnEntry> {
    const uploads = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await this.#listPage(this.prefix, token, false).catch((err) => mapS3Error(err, "/"));
      for (const o of page.Contents ?? []) {
        const path = `/${(o.Key ?? "").slice(this.prefix.length)}`;
        const mtimeMs = o.LastModified?.getTime() ?? 0;
        const upload = path.startsWith(`/${UPLOADS_DIR}/`) ? path.split("/").slice(0, 3).join("/") : undefined;
        if (upload) uploads.set(upload, Math.max(uploads.get(upload) ?? 0, mtimeMs));
        else if ((path.split("/").pop() ?? "").startsWith(TEMP_PREFIX)) yield { path, mtimeMs };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (const [path, mtimeMs] of uploads) yield { path, mtimeMs };
  }

  async delete(path: string, options: { recursive?: boolean; directory?: boolean } = {}): Promise<void> {
    const below = this.#below(path);
    if (below === "" || below === this.prefix) throw new UfsError("INVALID_ARGUMENT", "Cannot delete the under-store root");
    const key = this.#key(path);
    if (!options.directory && (await this.#head(key, path))) {
      await this.#s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch((err) => mapS3Error(err, path));
      return;
    }
    let found = false;
    for await (const keys of this.#keysBelow(below, path)) {
      if (keys.length === 0) continue;
      found = true;
      if (!options.recursive && keys.some((k) => k !== below)) throw new UfsError("NOT_EMPTY", `Cannot remove "${path}": not empty`);
      await this.#s3
        .send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }))
        .catch((err) => mapS3Error(err, path));
    }
    if (!found) throw new UfsError("NOT_FOUND", `Cannot find "${path}" in the under-store`);
  }

  async rename(src: string, dst: string, options: { directory?: boolean } = {}): Promise<void> {
    const file = options.directory ? undefined : await this.#head(this.#key(src), src);
    if (file) {
      await this.#copy(this.#key(src), this.#key(dst), file.size, dst);
      await this.#s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(src) }));
      return;
    }
    const from = this.#below(src);
    const to = this.#below(dst);
    let found = false;
    for await (const keys of this.#keysBelow(from, src)) {
      for (const key of keys) {
        found = true;
        const head = await this.#head(key, src);
        await this.#copy(key, `${to}${key.slice(from.length)}`, head?.size ?? 0, dst);
      }
    }
    if (!found) throw new UfsError("NOT_FOUND", `Cannot find "${src}" in the under-store`);
    await this.delete(src, { recursive: true });
  }
}
