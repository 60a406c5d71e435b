import { mkdir } from "node:fs/promises";
import { connect, type NatsConnection, publish, Responder } from "@koine/bus";
import { ErrorCode, Events, type FileInfo, KoineError, Meta, type WrittenData } from "@koine/protocol";
import { UfsError, UfsRegistry, type UnderFileSystem } from "@koine/ufs";
import { open } from "lmdb";
import type { MetadataOptions } from "./config.ts";
import { listKeys } from "./listing.ts";
import { canonical, type InodeRecord, Namespace, type PlacedInode } from "./namespace.ts";
import { parsePath } from "./paths.ts";
import { Uploads } from "./uploads.ts";
import { Users } from "./users.ts";

export interface MetadataService {
  stop(): Promise<void>;
}

const QUEUE = "koine-metadata";

/**
 * Starts the metadata service: the namespace, mounts and uploads in LMDB,
 * answered over NATS. Namespace changes are mirrored to the under-store.
 */
export async function start(options: MetadataOptions): Promise<MetadataService> {
  await mkdir(options.dataDir, { recursive: true });
  const db = open({ path: options.dataDir });
  const ns = new Namespace(db);
  await ns.init({ id: "root", path: "/", uri: options.rootUfs, readOnly: false });
  const uploads = new Uploads(db, ns);
  const users = new Users(db);
  const stores = new UfsRegistry(() => ns.mountList());
  const ufsOf = (mountId: string) => stores.get(mountId);

  const nc: NatsConnection = await connect({ servers: options.natsUrl, name: "koine-metadata" });
  const changed = (...paths: string[]) => publish(nc, Events.changed, { paths, trees: [] });
  const changedTrees = (...trees: string[]) => publish(nc, Events.changed, { paths: trees, trees });
  const onInternalError = (err: unknown, subject: string) => console.error(`metadata: ${subject} failed`, err);
  const responder = new Responder(nc, { queue: QUEUE, onInternalError });
  const on = responder.on.bind(responder);

  on(Meta.stat, ({ path }) => ns.stat(path));
  on(Meta.list, ({ path, after, limit, recursive }) => {
    const dir = ns.get(path);
    const base = canonical(path) === "/" ? "" : canonical(path);
    if (dir.type !== "directory") return { entries: [ns.info(dir, canonical(path))], truncated: false };
    const max = limit ?? 10000;
    if (!recursive) {
      const children = ns.listChildren(dir.id, after, max + 1);
      return {
        entries: children.slice(0, max).map((c) => ns.info(c, `${base}/${c.name}`)),
        truncated: children.length > max,
      };
    }
    const entries: FileInfo[] = [];
    const walk = (id: number, prefix: string): boolean => {
      for (const c of ns.listChildren(id, undefined, Number.MAX_SAFE_INTEGER)) {
        if (entries.length >= max) return false;
        entries.push(ns.info(c, `${prefix}/${c.name}`));
        if (c.type === "directory" && !walk(c.id, `${prefix}/${c.name}`)) return false;
      }
      return true;
    };
    const complete = walk(dir.id, base);
    return { entries, truncated: !complete };
  });
  on(Meta.listKeys, (req) => listKeys(ns, req));
  on(Meta.mkdir, async (req) => {
    const info = await ns.mkdir(req.path, req);
    await (await ufsOf(info.ufs.mountId)).mkdir(info.ufs.path);
    changed(info.path);
    return info;
  });
  /**
   * Makes staged bytes the file at `path`, unless this very version is
   * committed already (a commit sent again after a lost reply). Nothing is
   * published where the commit could not follow.
   */
  const publishStaged = async (path: string, data: WrittenData, createParents: boolean) => {
    if (!data.stagedPath) return;
    const at = ns.ufsLocationOf(canonical(path));
    const ufs = await ufsOf(at.mountId);
    const current = ns.lookup(parsePath(path));
    if (current?.contentId === data.contentId) return;
    try {
      ns.checkCommit(path, createParents);
    } catch (err) {
      await ufs.discard(data.stagedPath);
      throw err;
    }
    await ufs.publish(data.stagedPath, at.path);
  };

  on(Meta.commitFile, async (req) => {
    await publishStaged(req.path, req.data, req.createParents);
    const { info } = await ns.commitFile(req.path, req.data, req.blockSize, req.attributes, req.createParents);
    if (info.type === "directory") await (await ufsOf(info.ufs.mountId)).mkdir(info.ufs.path);
    changed(info.path);
    return info;
  });
  on(Meta.delete, async (req) => {
    const removal = await ns.delete(req.path, req);
    const top = removal.removed[removal.removed.length - 1] as PlacedInode;
    const info = ns.info(top.inode, top.path);
    if (!removal.keptDirectory) await removeFromUfs(info, top.inode, await ufsOf(info.ufs.mountId));
    for (const dir of removal.pruned) {
      const at = ns.ufsLocationOf(dir);
      await (await ufsOf(at.mountId)).delete(at.path).catch(() => {}); // an under-store directory with other content stays
    }
    if (top.inode.type === "directory") changedTrees(top.path, ...removal.pruned);
    else changed(top.path, ...removal.pruned);
    return { deleted: removal.removed.map((r) => ns.info(r.inode, r.path)) };
  });
  on(Meta.rename, async ({ src, dst }) => {
    const before = ns.stat(src);
    const target = ns.ufsLocationOf(canonical(dst));
    if (target.mountId !== before.ufs.mountId) {
      throw new KoineError(ErrorCode.InvalidArgument, `Cannot rename "${src}" to "${dst}": they are on different mounts`);
    }
    const ufs = await ufsOf(before.ufs.mountId);
    await ufs.rename(before.ufs.path, target.path);
    try {
      const info = await ns.rename(src, dst);
      if (info.type === "directory") changedTrees(before.path, info.path);
      else changed(before.path, info.path);
      return info;
    } catch (err) {
      await ufs.rename(target.path, before.ufs.path).catch(() => {});
      throw err;
    }
  });
  on(Meta.setAttributes, async ({ path, attributes }) => {
    const info = await ns.setAttributes(path, attributes);
    changed(info.path);
    return info;
  });
  on(Meta.mounts, () => ({ mounts: ns.mountList() }));
  on(Meta.listUsers, () => ({ users: users.list() }));
  on(Meta.putUser, async ({ accessKey, secretKey }) => {
    const user = await users.put(accessKey, secretKey);
    publish(nc, Events.usersChanged, { accessKeys: [accessKey] });
    return user;
  });
  on(Meta.removeUser, async ({ accessKey }) => {
    const user = await users.remove(accessKey);
    publish(nc, Events.usersChanged, { accessKeys: [accessKey] });
    return user;
  });

  on(Meta.createUpload, ({ path, owner, attributes }) => uploads.create(path, owner, attributes));
  on(Meta.getUpload, ({ uploadId }) => uploads.find(uploadId));
  on(Meta.putPart, ({ uploadId, part }) => uploads.putPart(uploadId, part));
  on(Meta.listParts, ({ uploadId, after, maxParts }) => ({
    upload: uploads.get(uploadId),
    ...uploads.parts(uploadId, after, maxParts),
  }));
  on(Meta.listUploads, (r) => uploads.list(r.bucket, r.prefix, r.keyMarker, r.uploadIdMarker, r.maxUploads));
  on(Meta.planComplete, ({ uploadId, parts }) => uploads.plan(uploadId, parts));
  on(Meta.finishUpload, async ({ uploadId, data, blockSize }) => {
    const upload = uploads.get(uploadId);
    await publishStaged(upload.path, data, true);
    const { info } = await ns.commitFile(upload.path, data, blockSize, upload.attributes, true);
    await uploads.remove(uploadId, info.etag);
    await (await ufsOf(upload.ufs.mountId)).delete(upload.ufs.path, { recursive: true }).catch(() => {});
    changed(info.path);
    return info;
  });
  on(Meta.abortUpload, async ({ uploadId }) => {
    const upload = await uploads.remove(uploadId);
    await (await ufsOf(upload.ufs.mountId)).delete(upload.ufs.path, { recursive: true }).catch(() => {});
    return upload;
  });

  await nc.flush();
  return {
    async stop() {
      responder.close();
      await nc.drain();
      await db.close();
    },
  };
}

/**
 * Mirrors a delete to the under-store. A file is removed only while it is
 * still the version deleted, so a newer write that raced past is kept; a
 * directory goes with what is below it.
 */
async function removeFromUfs(info: FileInfo, inode: InodeRecord, ufs: UnderFileSystem): Promise<void> {
  try {
    if (inode.type === "file") {
      const status = await ufs.stat(info.ufs.path);
      if (status && status.fingerprint === inode.ufsFingerprint) await ufs.delete(info.ufs.path);
    } else {
      await ufs.delete(info.ufs.path, { recursive: true });
    }
  } catch (err) {
    if (!(err instanceof UfsError && err.code === "NOT_FOUND")) throw err;
  }
}
