import type { FileInfo, Mount } from "@koine/protocol";
import { AlluxioError } from "./errors.ts";

/** The URIStatus JSON of Alluxio 2.x: every key alluxio-py reads (it fails on a missing one). */
export interface UriStatus {
  blockIds: number[];
  blockSizeBytes: number;
  cacheable: boolean;
  completed: boolean;
  creationTimeMs: number;
  lastModificationTimeMs: number;
  fileBlockInfos: unknown[];
  fileId: number;
  folder: boolean;
  owner: string;
  group: string;
  inMemoryPercentage: number;
  length: number;
  name: string;
  path: string;
  ufsPath: string;
  pinned: boolean;
  persisted: boolean;
  persistenceState: string;
  mode: number;
  mountPoint: boolean;
  ttl: number;
  ttlAction: string;
}

/** The under-store address of a file: its mount's URI joined with its path below the mount. */
function ufsPathOf(info: FileInfo, mounts: readonly Mount[]): string {
  const mount = mounts.find((m) => m.id === info.ufs.mountId);
  if (!mount) return info.ufs.path;
  const base = mount.uri.startsWith("file://") ? decodeURIComponent(new URL(mount.uri).pathname) : mount.uri;
  return `${base.replace(/\/$/, "")}${info.ufs.path === "/" ? "" : info.ufs.path}`;
}

export function uriStatus(info: FileInfo, mounts: readonly Mount[]): UriStatus {
  const folder = info.type === "directory";
  return {
    blockIds: [],
    blockSizeBytes: folder ? 0 : info.blockSize,
    cacheable: !folder,
    completed: true,
    creationTimeMs: Math.floor(info.createdMs),
    lastModificationTimeMs: Math.floor(info.mtimeMs),
    fileBlockInfos: [],
    fileId: info.id,
    folder,
    owner: info.owner,
    group: info.group || info.owner,
    inMemoryPercentage: 0,
    length: folder ? 0 : info.size,
    name: info.name,
    path: info.path,
    ufsPath: ufsPathOf(info, mounts),
    pinned: info.pinned === true,
    persisted: info.persistence === "PERSISTED",
    persistenceState: info.persistence,
    mode: info.mode,
    mountPoint: mounts.some((m) => m.path === info.path),
    ttl: info.ttlMs ?? -1,
    ttlAction: info.ttlAction ?? "DELETE",
  };
}

const BITS: Record<string, number> = { NONE: 0, EXECUTE: 1, WRITE: 2, WRITE_EXECUTE: 3, READ: 4, READ_EXECUTE: 5, READ_WRITE: 6, ALL: 7 };

/** An Alluxio Mode ({ownerBits, groupBits, otherBits}) or a plain number up to 0o7777, as a POSIX mode; anything else is INVALID_ARGUMENT. */
export function modeOf(mode: unknown): number | undefined {
  if (mode === undefined || mode === null) return undefined;
  if (typeof mode === "number" && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777) return mode;
  if (typeof mode === "object" && !Array.isArray(mode)) {
    const m = mode as Record<string, unknown>;
    const bits = (k: string) => {
      const value = BITS[String(m[k] ?? "NONE")];
      if (value === undefined) throw new AlluxioError("INVALID_ARGUMENT", `mode.${k} must be one of ${Object.keys(BITS).join(", ")}`);
      return value;
    };
    return (bits("ownerBits") << 6) | (bits("groupBits") << 3) | bits("otherBits");
  }
  throw new AlluxioError("INVALID_ARGUMENT", "mode must be a number from 0 to 0o7777 or {ownerBits, groupBits, otherBits}");
}
