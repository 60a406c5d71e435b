import { createCipheriv, createHmac, timingSafeEqual } from "node:crypto";
import { type ClusterKey, subKey } from "./seal.ts";

/** The header a koine service signs its requests to a cache node's data port with. */
export const DATA_SIGNATURE_HEADER = "koine-data-signature";
/** How long a signed data request may wait before it is sent. */
const SIGNATURE_LIFETIME_MS = 5 * 60_000;

/**
 * Signs and checks requests to cache nodes' data ports: an HMAC (with a
 * sub-key of the cluster key) of the method, the path with its query and
 * an expiry, so that only koine services read, write or plant bytes there.
 */
export class DataRequestSigner {
  readonly #key: Buffer;

  constructor(key: ClusterKey) {
    this.#key = subKey(key, "data-requests");
  }

  #mac(method: string, target: string, expiresMs: number): string {
    return createHmac("sha256", this.#key).update(`${method}\n${target}\n${expiresMs}`).digest("base64url");
  }

  /** The signature header's value for `method` on `target` (path and query, as sent). */
  sign(method: string, target: string, nowMs = Date.now()): string {
    const expiresMs = nowMs + SIGNATURE_LIFETIME_MS;
    return `${expiresMs}.${this.#mac(method, target, expiresMs)}`;
  }

  /** Whether `signature` was made by a holder of the cluster key for this request, and is still valid. */
  verify(method: string, target: string, signature: string | undefined, nowMs = Date.now()): boolean {
    const dot = signature?.indexOf(".") ?? -1;
    if (signature === undefined || dot < 1) return false;
    const expiresMs = Number(signature.slice(0, dot));
    if (!Number.isSafeInteger(expiresMs) || expiresMs < nowMs || expiresMs > nowMs + SIGNATURE_LIFETIME_MS + 60_000) return false;
    const expected = Buffer.from(this.#mac(method, target, expiresMs));
    const given = Buffer.from(signature.slice(dot + 1));
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

/**
 * Seals of cached pages: a GMAC tag (AES-256-GCM over the bytes as
 * associated data) under a sub-key of the cluster key, its nonce derived
 * from the page's name (a content id is one version of the bytes, so one
 * name never names two texts). A page planted on disk, or changed there,
 * fails its seal and is never served. Faster than the CRC32 it replaces.
 */
export class PageSealer {
  static readonly TAG_BYTES = 16;
  readonly #key: Buffer;
  readonly #nonceKey: Buffer;

  constructor(key: ClusterKey) {
    this.#key = subKey(key, "pages");
    this.#nonceKey = subKey(key, "page-nonces");
  }

  /** The seal of page `name` holding `data` (whole, or in the parts it came in). */
  seal(name: string, data: Uint8Array | readonly Uint8Array[]): Buffer {
    const nonce = createHmac("sha256", this.#nonceKey).update(name).digest().subarray(0, 12);
    const gmac = createCipheriv("aes-256-gcm", this.#key, nonce);
    for (const part of data instanceof Uint8Array ? [data] : data) gmac.setAAD(part);
    gmac.final();
    return gmac.getAuthTag();
  }

  /** Whether `tag` is the seal of page `name` holding `data`. */
  check(name: string, data: Uint8Array, tag: Uint8Array): boolean {
    return tag.length === PageSealer.TAG_BYTES && timingSafeEqual(this.seal(name, data), tag);
  }

  /**
   * The bytes of a page file as written (its seal, then the bytes) when it
   * holds page `name` of `size` bytes under a valid seal; else undefined.
   */
  open(name: string, file: Buffer, size: number): Buffer | undefined {
    const data = file.subarray(PageSealer.TAG_BYTES);
    if (file.length < PageSealer.TAG_BYTES || data.length !== size) return undefined;
    return this.check(name, data, file.subarray(0, PageSealer.TAG_BYTES)) ? data : undefined;
  }
}
