import { createHash, randomBytes } from "node:crypto";
import {
  type CompletePlan,
  ErrorCode,
  type FileAttributes,
  KoineError,
  Meta,
  type Upload,
  type UploadPart,
  uploadIdIn,
} from "@koine/protocol";
import { UPLOADS_DIR } from "@koine/ufs";
import type { Database, RootDatabase } from "lmdb";
import type { CommitWritten } from "./commits.ts";
import type { Metadata } from "./context.ts";
import { type Namespace, newContentId } from "./namespace.ts";

/** Parts other than the last must be at least this big (as in S3). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Where an upload's parts are staged, relative to its mount root. */
export function stagingDir(uploadId: string): string {
  return `/${UPLOADS_DIR}/${uploadId}`;
}

/** Multipart upload records: the upload, and one record per part. */
export class Uploads {
  readonly #ns: Namespace;
  readonly uploads: Database<Upload, string>;
  readonly #byPath: Database<true, [string, string]>;
  readonly #parts: Database<UploadPart, [string, number]>;

  /** The shard this namespace is: its upload ids name it, for clients to route by. */
  readonly #shard: number;

  constructor(root: RootDatabase, ns: Namespace, shard = 0) {
    this.#ns = ns;
    this.#shard = shard;
    this.uploads = root.openDB({ name: "uploads" });
    this.#byPath = root.openDB({ name: "uploadsByPath" });
    this.#parts = root.openDB({ name: "uploadParts" });
    // Changes go through the namespace's journal: made with what they carry, they are the same on every replica.
    ns.defineChange("createUpload", (_at, upload: Upload) => {
      this.uploads.put(upload.uploadId, upload);
      this.#byPath.put([upload.path, upload.uploadId], true);
      return upload;
    });
    ns.defineChange("putPart", (_at, uploadId: string, part: UploadPart) => {
      this.get(uploadId);
      const replaced = this.#parts.get([uploadId, part.partNumber]);
      this.#parts.put([uploadId, part.partNumber], part);
      return { part, replaced };
    });
    ns.defineChange("removeUpload", (_at, uploadId: string, completedEtag: string | undefined) => {
      const upload = this.get(uploadId);
      if (completedEtag === undefined) this.uploads.remove(uploadId);
      else this.uploads.put(uploadId, { ...upload, completedEtag });
      this.#byPath.remove([upload.path, uploadId]);
      for (const key of this.#parts.getKeys({ start: [uploadId, 0], end: [uploadId, 10001] })) this.#parts.remove(key);
      return upload;
    });
  }

  create(path: string, owner: string, attributes: FileAttributes, checksum?: Upload["checksum"]): Promise<Upload> {
    // Time first, so that ids sort in the order uploads began.
    const uploadId = uploadIdIn(Date.now().toString(16).padStart(12, "0") + randomBytes(10).toString("hex"), this.#shard);
    const location = this.#ns.ufsLocationOf(path);
    const upload: Upload = {
      uploadId,
      path,
      initiatedMs: Date.now(),
      owner,
      attributes,
      ufs: { mountId: location.mountId, path: stagingDir(uploadId) },
      ...(checksum ? { checksum } : {}),
    };
    return this.#ns.change("createUpload", [upload]) as Promise<Upload>;
  }

  /** The upload, completed or not. */
  find(uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload) throw new KoineError(ErrorCode.NoSuchUpload, `Cannot find upload "${uploadId}"`);
    return upload;
  }

  /** The upload while it takes parts. */
  get(uploadId: string): Upload {
    const upload = this.find(uploadId);
    if (upload.completedEtag !== undefined) throw new KoineError(ErrorCode.NoSuchUpload, `Upload "${uploadId}" is completed`);
    return upload;
  }

  /** Records a part; returns it and the part it replaced, if any. */
  putPart(uploadId: string, part: UploadPart): Promise<{ part: UploadPart; replaced: UploadPart | undefined }> {
    return this.#ns.change("putPart", [uploadId, part]) as Promise<{ part: UploadPart; replaced: UploadPart | undefined }>;
  }

  parts(uploadId: string, after: number, max: number): { parts: UploadPart[]; truncated: boolean } {
    const parts: UploadPart[] = [];
    for (const { value } of this.#parts.getRange({ start: [uploadId, after + 1], end: [uploadId, 10001] })) {
      if (parts.length >= max) return { parts, truncated: true };
      parts.push(value);
    }
    return { parts, truncated: false };
  }

  /** Uploads below `/bucket/prefix`, in key then start order, after the markers. */
  list(bucket: string, prefix: string, keyMarker: string, uploadIdMarker: string, max: number) {
    const base = `/${bucket}/`;
    const start: [string, string] = keyMarker ? [base + keyMarker, uploadIdMarker] : [base + prefix, ""];
    const uploads: Upload[] = [];
    for (const { key } of this.#byPath.getRange({ start })) {
      const [path, id] = key;
      if (!path.startsWith(base + prefix)) break;
      if (keyMarker && path === base + keyMarker && (!uploadIdMarker || id <= uploadIdMarker)) continue;
      if (uploads.length >= max) return { uploads, truncated: true };
      const upload = this.uploads.get(id);
      if (upload) uploads.push(upload);
    }
    return { uploads, truncated: false };
  }

  /** Checks the parts a client asks to complete with, and plans the concatenation. */
  plan(uploadId: string, requested: { partNumber: number; etag: string }[], anySize = false): CompletePlan {
    const upload = this.get(uploadId);
    if (requested.length === 0) throw new KoineError(ErrorCode.InvalidArgument, "Cannot complete an upload with no parts");
    const parts: UploadPart[] = [];
    let previous = 0;
    for (const r of requested) {
      if (r.partNumber <= previous) {
        throw new KoineError(ErrorCode.InvalidPartOrder, "Cannot complete: parts must be listed in ascending order");
      }
      previous = r.partNumber;
      const part = this.#parts.get([uploadId, r.partNumber]);
      if (!part || part.etag !== r.etag.replace(/"/g, "")) {
        throw new KoineError(ErrorCode.InvalidPart, `Cannot complete: part ${r.partNumber} was not uploaded or its ETag differs`);
      }
      parts.push(part);
    }
    parts.forEach((p, i) => {
      if (!anySize && i < parts.length - 1 && p.size < MIN_PART_SIZE) {
        throw new KoineError(ErrorCode.EntityTooSmall, `Cannot complete: part ${p.partNumber} is smaller than 5 MiB`);
      }
    });
    const md5s = createHash("md5");
    for (const p of parts) md5s.update(Buffer.from(p.etag, "hex"));
    return { upload, parts, contentId: newContentId(), etag: `${md5s.digest("hex")}-${parts.length}` };
  }

  /**
   * Forgets the upload's parts and its listing entry. With `completedEtag`
   * the record stays, marked completed; else it goes too. Returns what it was.
   */
  remove(uploadId: string, completedEtag?: string): Promise<Upload> {
    return this.#ns.change("removeUpload", [uploadId, completedEtag]) as Promise<Upload>;
  }
}

/** Multipart uploads' requests: create, parts, listings, complete (through the commit protocol), abort. */
export function serveUploads(m: Metadata, uploads: Uploads, commitWritten: CommitWritten): void {
  m.on(Meta.createUpload, ({ path, owner, attributes, checksum }) => {
    m.writable(path);
    return uploads.create(path, owner, attributes, checksum);
  });
  m.on(Meta.getUpload, ({ uploadId }) => uploads.find(uploadId));
  m.on(Meta.putPart, async ({ uploadId, part }) => {
    const { replaced } = await uploads.putPart(uploadId, part);
    // A part uploaded again leaves the earlier upload's bytes unnamed: they go.
    if (replaced && replaced.ufsPath !== part.ufsPath) {
      const upload = uploads.find(uploadId);
      await (await m.ufsOf(upload.ufs.mountId)).delete(replaced.ufsPath).catch(() => {});
    }
    return part;
  });
  m.on(Meta.listParts, ({ uploadId, after, maxParts }) => ({
    upload: uploads.get(uploadId),
    ...uploads.parts(uploadId, after, maxParts),
  }));
  m.on(Meta.listUploads, (r) => uploads.list(r.bucket, r.prefix, r.keyMarker, r.uploadIdMarker, r.maxUploads));
  m.on(Meta.planComplete, ({ uploadId, parts, anySize }) => uploads.plan(uploadId, parts, anySize));
  m.on(Meta.finishUpload, async ({ uploadId, data, blockSize, attributes, condition }) => {
    const upload = uploads.get(uploadId);
    const { info } = await commitWritten(
      upload.path,
      data,
      true,
      (written, versioned) =>
        m.ns.commitFile(upload.path, written, blockSize, { ...upload.attributes, ...attributes }, true, {}, versioned),
      condition,
    );
    await uploads.remove(uploadId, info.etag);
    await (await m.ufsOf(upload.ufs.mountId)).delete(upload.ufs.path, { recursive: true, directory: true }).catch(() => {});
    m.changed(info.path);
    return info;
  });
  m.on(Meta.abortUpload, async ({ uploadId }) => {
    const upload = await uploads.remove(uploadId);
    await (await m.ufsOf(upload.ufs.mountId)).delete(upload.ufs.path, { recursive: true, directory: true }).catch(() => {});
    return upload;
  });
}
