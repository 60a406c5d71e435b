import { randomBytes } from "node:crypto";
import { publish } from "@koine/bus";
import { parseDuration } from "@koine/config";
import { ErrorCode, Events, KoineError, Meta, type Mount, parsePath } from "@koine/protocol";
import { canonicalUri, openUfs, type UnderFileSystem } from "@koine/ufs";
import type { Metadata } from "./context.ts";
import { canonical } from "./namespace.ts";
import { SYNC_INTERVAL_PROPERTY } from "./sync.ts";

/** The mount table: mount (checked against the under-store), unmount, list; every client hears of a change. */
export function serveMounts(m: Metadata): void {
  m.on(Meta.mount, async ({ path, uri, readOnly, properties }) => {
    const at = canonical(path);
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
    try {
      mount = {
        id: randomBytes(6).toString("hex"),
        path: at,
        uri: canonicalUri(uri),
        readOnly: readOnly ?? false,
        properties: properties ?? {},
      };
      status = await openUfs(mount).stat("/");
    } catch (err) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount ${uri}: ${(err as Error).message}`);
    }
    if (status?.type !== "directory")
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot mount ${uri}: no such directory in the under-store`);
    await m.ns.addMount(mount);
    const mounts = m.ns.mountList();
    publish(m.nc, Events.mountsChanged, { mounts });
    m.changed(at);
    return { mounts };
  });
  m.on(Meta.unmount, async ({ path }) => {
    const mount = await m.ns.removeMount(path);
    m.stores.drop(mount.id);
    const mounts = m.ns.mountList();
    publish(m.nc, Events.mountsChanged, { mounts });
    m.changedTrees(mount.path);
    return { mounts };
  });

  m.on(Meta.mounts, () => ({ mounts: m.ns.mountList() }));
}
