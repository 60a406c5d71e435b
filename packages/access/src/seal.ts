import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The cluster key: 32 bytes every koine service of one cluster shares (sealing secrets, signing data requests). */
export type ClusterKey = Buffer;

const KEY_BYTES = 32;

/**
 * The cluster key: from `text` (64 hex digits or base64 of 32 bytes) when
 * set, otherwise from `file`, which is made (mode 0600, random) by the
 * first service to start on this host.
 */
export function loadClusterKey(text: string | undefined, file: string): ClusterKey {
  if (text) return parseKey(text, "KOINE_CLUSTER_KEY");
  try {
    return parseKey(readFileSync(file, "utf8").trim(), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dirname(file), { recursive: true });
  try {
    // O_EXCL: of two services starting at once, one writes and both read the same key.
    const fd = openSync(file, "wx", 0o600);
    writeSync(fd, `${randomBytes(KEY_BYTES).toString("hex")}\n`);
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  for (let attempt = 0; ; attempt++) {
    const text = readFileSync(file, "utf8").trim();
    if (text.length === KEY_BYTES * 2 || attempt > 100) return parseKey(text, file);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

/** The cluster key of a service's settings: KOINE_CLUSTER_KEY, or the file cluster.key in KOINE_HOME. */
export function clusterKeyOf(settings: { KOINE_CLUSTER_KEY?: string; KOINE_HOME: string }): ClusterKey {
  return loadClusterKey(settings.KOINE_CLUSTER_KEY, join(resolve(settings.KOINE_HOME), "cluster.key"));
}

function parseKey(text: string, from: string): ClusterKey {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
  if (key.length !== KEY_BYTES) throw new Error(`${from} must hold a 32-byte key as 64 hex digits or base64`);
  return key;
}

/** A sub-key for one use, so no two uses of the cluster key ever share a key. */
export function subKey(key: ClusterKey, purpose: string): Buffer {
  return createHmac("sha256", key).update(`koine:${purpose}`).digest();
}

/** `secret` encrypted and authenticated with the cluster key (AES-256-GCM): "v1.<iv>.<ciphertext>.<tag>", base64url. */
export function seal(key: ClusterKey, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", subKey(key, "seal"), iv);
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return ["v1", iv, body, cipher.getAuthTag()].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

/** The secret a {@link seal} holds; throws when it was sealed with another key or changed. */
export function unseal(key: ClusterKey, sealed: string): string {
  const [version, iv, body, tag] = sealed.split(".");
  if (version !== "v1" || iv === undefined || body === undefined || tag === undefined) throw new Error("Not a sealed secret");
  const decipher = createDecipheriv("aes-256-gcm", subKey(key, "seal"), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}

/** Constant-time comparison of two texts. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Mount properties that hold credentials (under-store secret keys, passwords, tokens). */
const SECRET_PROPERTY = /secret|password|token|credential/i;
const SEALED = "sealed:";

/** `properties` with every credential sealed ("sealed:v1..."), as metadata stores and sends them. */
export function sealProperties(key: ClusterKey, properties: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(properties).map(([k, v]) => [k, SECRET_PROPERTY.test(k) && !v.startsWith(SEALED) ? `${SEALED}${seal(key, v)}` : v]),
  );
}

/** `properties` with their sealed credentials opened, for the service that opens the under-store. */
export function openProperties(key: ClusterKey, properties: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(properties).map(([k, v]) => [k, v.startsWith(SEALED) ? unseal(key, v.slice(SEALED.length)) : v]),
  );
}
