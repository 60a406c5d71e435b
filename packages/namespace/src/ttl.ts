import { publish } from "@koine/bus";
import { Events, type Meta, type RequestOf } from "@koine/protocol";
import type { Metadata } from "./context.ts";

/** Enforces times to live every `intervalMs` (one check at a time) until stopped. */
export function enforceTtlsEvery(
  m: Metadata,
  deletePath: (req: RequestOf<typeof Meta.delete>) => Promise<unknown>,
  intervalMs: number,
): { stop(): Promise<void> } {
  /**
   * Enforces times to live (counted from creation, as Alluxio 2.x does):
   * DELETE removes the path, from the under-store too; FREE drops the
   * cached pages of persisted, unpinned files, then clears the TTL.
   */
  const enforceTtls = async () => {
    for (const due of m.ns.expired(Date.now())) {
      // An earlier one of this round may have deleted it (with a directory above it).
      const inode = m.ns.inode(due.id);
      if (inode?.ttlMs === undefined) continue;
      const path = m.ns.pathOf(inode);
      try {
        if (inode.ttlAction === "FREE") {
          const contentIds = [...m.ns.subtree(inode, path)]
            .filter(({ inode: f }) => f.type === "file" && f.persistence === "PERSISTED" && !f.pinned && f.contentId)
            .map(({ inode: f }) => f.contentId);
          if (contentIds.length > 0) publish(m.nc, Events.free, { contentIds });
          const info = await m.ns.setAttributes(path, { ttlMs: -1 });
          m.changed(info.path);
        } else {
          await deletePath({ path, recursive: true });
        }
      } catch (err) {
        m.log.error({ err, path }, "cannot enforce the TTL; clearing it");
        await m.ns.setAttributes(path, { ttlMs: -1 }).catch(() => {});
      } finally {
        m.publishPins();
      }
    }
  };
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(enforceTtls).catch((err) => m.log.error({ err }, "TTL check failed"));
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
