import type { Mount } from "@koine/protocol";
import { UfsError } from "./errors.ts";
import { LocalUfs } from "./local.ts";
import { ReadOnlyUfs } from "./read_only.ts";
import { S3Ufs, s3OptionsFrom } from "./s3.ts";
import type { UnderFileSystem } from "./ufs.ts";

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
