import { createReadStream } from "node:fs";
import { readdir, realpath, rm, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import type { Principal } from "@koine/access";
import type { FileSystemClient } from "@koine/client";
import { AisError } from "./errors.ts";

/** What the SDK's `promote` sends (PromoteArgs, AIS's short names). */
export interface PromoteArgs {
  /** The file or directory on this target's host. */
  src: string;
  /** The object's name (a file), or the prefix of the objects' names (a directory). */
  obj: string;
  /** Below sub-directories too. */
  rcr: boolean;
  /** Replace objects that exist. */
  ovw: boolean;
  /** Delete each file once its object is written. */
  dls: boolean;
}

export function promoteArgsOf(name: unknown, value: unknown): PromoteArgs {
  const v = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
  const src = typeof v.src === "string" && v.src !== "" ? v.src : typeof name === "string" ? name : "";
  if (src === "") throw new AisError(400, "promote needs the source path");
  return { src, obj: typeof v.obj === "string" ? v.obj : "", rcr: v.rcr === true, ovw: v.ovw === true, dls: v.dls === true };
}

/**
 * Promotes files of this host into a bucket: an admin's, and only from
 * below `roots` (the directories an admin may bring into the namespace,
 * KOINE_MOUNT_ROOTS, as for local mounts). Each file is written through
 * this node as an object; done before the request is answered (AIS's
 * synchronous promote, which answers no job id). Returns the objects written.
 */
export async function promote(
  client: FileSystemClient,
  principal: Principal,
  roots: readonly string[],
  bucketPath: string,
  args: PromoteArgs,
  writer: string | undefined,
): Promise<number> {
  if (!principal.admin) throw new AisError(403, "promote is an admin's");
  // Where it really is (a link below a root may point anywhere), checked against where the roots really are.
  const src = await realpath(resolve(args.src)).catch(() => undefined);
  if (src === undefined) throw new AisError(404, `"${args.src}" does not exist`);
  const real = await Promise.all(roots.map((root) => realpath(resolve(root)).catch(() => undefined)));
  if (!real.some((root) => root !== undefined && (src === root || src.startsWith(`${root}${sep}`)))) {
    throw new AisError(403, `cannot promote "${args.src}": not below a directory admins may bring in (KOINE_MOUNT_ROOTS)`);
  }
  const info = await stat(src);
  const files: { path: string; name: string }[] = [];
  if (info.isFile()) files.push({ path: src, name: args.obj || src.slice(src.lastIndexOf(sep) + 1) });
  else {
    const prefix = args.obj === "" || args.obj.endsWith("/") ? args.obj : `${args.obj}/`;
    for (const entry of await readdir(src, { recursive: args.rcr, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      files.push({ path, name: `${prefix}${relative(src, path).split(sep).join("/")}` });
    }
  }
  let written = 0;
  for (const file of files.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const to = `${bucketPath}/${file.name}`;
    if (!args.ovw && (await client.find(to))) continue;
    await client.writeFile(to, createReadStream(file.path), {
      attributes: { owner: principal.user, mode: 0o600, contentType: "application/octet-stream" },
      createParents: true,
      ...(writer === undefined ? {} : { writer }),
    });
    written++;
    if (args.dls) await rm(file.path);
  }
  return written;
}
