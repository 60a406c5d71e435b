import { randomBytes } from "node:crypto";
import { realpath } from "node:fs/promises";
import { sep } from "node:path";
import { type ClusterKey, sealProperties } from "@koine/access";
import { publish } from "@koine/bus";
import { parseDuration } from "@koine/config";
import { canonicalPath, ErrorCode, Events, KoineError, Meta, type Mount, parsePath } from "@koine/protocol";
import { canonicalUri, openUfs, type UnderFileSystem } from "@koine/ufs";
import type { Metadata } from "./context.ts";
import { SYNC_INTERVAL_PROPERTY } from "./sync.ts";

/**
 * Refuses a local (file:) mount outside every one of `roots`, whatever
 * links or ".." its path goes through: an admin mounts, but only what the
 * operator set aside (KOINE_MOUNT_ROOTS), never /etc or koine's own files.
 */
async function checkMountRoot(uri: string, roots: readonly string[]): Promise<void> {
  const url = new URL(uri);
  if (url.protocol !== "file:") return;
  const dir = await realpath(decodeURIComponent(url.pathname)).catch(() => {
    throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount ${uri}: no such directory`);
  });
  for (const root of roots) {
    const real = await realpath(root).catch(() => undefined);
    if (real !== undefined && (dir === real || dir.startsWith(real.endsWith(sep) ? real : `${real}${sep}`))) return;
  }
  throw new KoineError(
    ErrorCode.PermissionDenied,
    `Cannot mount ${uri}: local directories are mounted only from below ${roots.join(", ") || "(none)"} (KOINE_MOUNT_ROOTS)`,
  );
}

/**
 * The mount table: mount (local directories only below `roots`, checked
 * against the under-store, credentials sealed with `key`), unmount, list;
 * every client hears of a change.
 */
export function serveMounts(m: Metadata, roots: readonly string[], key: ClusterKey): void {
  m.on(Meta.mount, async ({ path, uri, readOnly, properties }) => {
    const at = canonicalPath(path);
    parsePath(at);
    const interval = properties?.[SYNC_INTERVAL_PROPERTY];
    if (interval !== undefined) {
      try {
        parseDuration(interval, SYNC_INTERVAL_PROPERTY);
      } catch (err) {
        throw new KoineError(ErrorCode.InvalidArgument, (err as Error).message);
      }
    }
    let status: Awaited<ReturnType<UnderFileSystem["stat"]>>;
    let mount: Mount;
    let canonicalForm: string;
    try {
      canonicalForm = canonicalUri(uri);
    } catch (err) {
      throw new KoineError(ErrorCode.InvalidArgument, (err as Error).message);
    }
    await checkMountRoot(canonicalForm, roots);
    try {
      mount = {
        id: randomBytes(6).toString("hex"),
        path: at,
        uri: canonicalForm,
        readOnly: readOnly ?? false,
        properties: properties ?? {},
      };
      status = await openUfs(mount).stat("/");
    } catch (err) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount ${uri}: ${(err as Error).message}`);
    }
    if (status?.type !== "directory")
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount ${uri}: no such directory in the under-store`);
    // Credentials are kept and sent sealed: no mount list carries a secret.
    await m.ns.addMount({ ...mount, properties: sealProperties(key, mount.properties ?? {}) });
    const reply = mountsReply(m);
    publish(m.nc, Events.mountsChanged, reply);
    m.changed(at);
    return reply;
  });
  m.on(Meta.unmount, async ({ path }) => {
    const mount = await m.ns.removeMount(path);
    m.stores.drop(mount.id);
    const reply = mountsReply(m);
    publish(m.nc, Events.mountsChanged, reply);
    m.changedTrees(mount.path);
    return reply;
  });

  m.on(Meta.mounts, () => mountsReply(m));
}

/** This shard's mounts; shard 0 says how many shards there are. */
function mountsReply(m: Metadata) {
  const { index, count } = m.shard;
  return { mounts: m.ns.mountList(), shard: index, ...(index === 0 ? { shards: count } : {}) };
}
