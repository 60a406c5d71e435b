import type { Mount } from "@koine/protocol";
import { UfsError } from "./errors.ts";
import { LocalUfs } from "./local.ts";
import { ReadOnlyUfs } from "./read_only.ts";
import { S3Ufs, s3OptionsFrom } from "./s3.ts";
import type { UnderFileSystem } from "./ufs.ts";

/**
 * The one spelling of an under-store URI: dot segments resolved (as URLs
 * resolve them, "%2e%2e" included), empty segments and a trailing "/" dropped.
 * Refused (INVALID_ARGUMENT): what is not a URI, a file: URI naming a host,
 * and paths that decode to NUL or other control characters.
 */
export function canonicalUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": not a URI`);
  }
  if (url.search || url.hash) throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": a query or fragment names no place`);
  if (url.protocol === "file:" && url.host !== "") throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": file: URIs name no host`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": its path is not percent-encoded UTF-8`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(decoded))
    throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${uri}": its path holds control characters`);
  const path = url.pathname
    .split("/")
    .filter((s) => s !== "")
    .join("/");
  return url.protocol === "file:" ? `file:///${path}` : `${url.protocol}//${url.host}${path === "" ? "" : `/${path}`}`;
}

/**
 * Opens the under-store of a mount: `file:///abs/dir` or
 * `s3://bucket/prefix` (settings in the mount's properties). Only the root
 * mount's directory is created when missing; a read-only mount refuses writes.
 */
export function openUfs(mount: Pick<Mount, "id" | "uri" | "readOnly" | "properties">): UnderFileSystem {
  let url: URL;
  try {
    url = new URL(mount.uri);
  } catch {
    throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${mount.uri}": not a URI`);
  }
  let ufs: UnderFileSystem;
  if (url.protocol === "file:") ufs = new LocalUfs(decodeURIComponent(url.pathname), { createRoot: mount.id === "root" });
  else if (url.protocol === "s3:" || url.protocol === "s3a:") ufs = new S3Ufs(mount.uri, s3OptionsFrom(mount.properties ?? {}));
  else throw new UfsError("INVALID_ARGUMENT", `Cannot mount "${mount.uri}": scheme ${url.protocol} is not implemented (file: and s3: are)`);
  return mount.readOnly ? new ReadOnlyUfs(ufs, mount.uri) : ufs;
}
