import { randomBytes } from "node:crypto";
import { constants, createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, realpath, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { join, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UfsError } from "./errors.ts";
import { pathSegments } from "./path.ts";
import { Turns } from "./turns.ts";
import {
  type OwnEntry,
  type Published,
  type PublishTurn,
  type StagedWrite,
  type UfsEntry,
  type UfsStatus,
  type UnderFileSystem,
  UPLOADS_DIR,
} from "./ufs.ts";

/** Temporary files of unfinished writes start with this; listings hide them. */
export const TEMP_PREFIX = ".koine-tmp-";

/**
 * A file system holds a file or a directory under one name, never both: a
 * file made where a directory has its name is stored as `.koine-file-<name>`,
 * a directory made where a file has it as `.koine-dir-<name>` (what was there
 * first keeps its plain name). Listings give the names back.
 */
const ESCAPES = { file: ".koine-file-", directory: ".koine-dir-" } as const;
type Kind = keyof typeof ESCAPES;

async function kindAt(abs: string): Promise<Kind | undefined> {
  try {
    return (await stat(abs)).isDirectory() ? "directory" : "file";
  } catch {
    return undefined;
  }
}

/**
 * Names that are steps to a file system, never names: "" (S3 "a//b"), "."
 * and "..". They are stored as these, and listed back.
 */
const STEP_NAMES = new Map([
  ["", ".koine-empty"],
  [".", ".koine-dot"],
  ["..", ".koine-dotdot"],
]);
const STEP_NAMES_STORED = new Map([...STEP_NAMES].map(([name, stored]) => [stored, name]));

/** The name in directory `dir` of `name` as a `kind`: itself, or its escaped form where the other kind holds the name. */
async function nameIn(dir: string, name: string, kind: Kind): Promise<string> {
  const stored = STEP_NAMES.get(name) ?? name;
  const escaped = ESCAPES[kind] + stored;
  const plain = await kindAt(join(dir, stored));
  if (plain === kind) return stored;
  if (plain !== undefined) return escaped;
  return (await kindAt(join(dir, escaped))) === kind ? escaped : stored;
}

/** The name a listed name of `kind` stands for. */
function unescaped(name: string, kind: Kind): string {
  const prefix = ESCAPES[kind];
  const plain = name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : name;
  return STEP_NAMES_STORED.get(plain) ?? plain;
}

interface StatLike {
  isDirectory(): boolean;
  size: bigint;
  mtimeNs: bigint;
  mtimeMs: bigint;
  ino: bigint;
}

function statusOf(s: StatLike): UfsStatus {
  const type = s.isDirectory() ? "directory" : "file";
  return {
    type,
    size: type === "file" ? Number(s.size) : 0,
    mtimeMs: Number(s.mtimeMs),
    fingerprint: `${s.size}-${s.mtimeNs}-${s.ino}`,
  };
}

function mapFsError(err: unknown, path: string): never {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") throw new UfsError("NOT_FOUND", `Cannot find "${path}" in the under-store`, { cause: err });
  if (code === "EEXIST") throw new UfsError("ALREADY_EXISTS", `Cannot create "${path}": it exists`, { cause: err });
  if (code === "ENOTEMPTY") throw new UfsError("NOT_EMPTY", `Cannot remove "${path}": not empty`, { cause: err });
  if (code === "ENOTDIR")
    throw new UfsError("NOT_A_DIRECTORY", `Cannot use "${path}": a file is where a directory should be`, { cause: err });
  if (code === "EISDIR") throw new UfsError("IS_A_DIRECTORY", `Cannot use "${path}": a directory is there`, { cause: err });
  if (code === "ELOOP" || code === "ENAMETOOLONG") {
    throw new UfsError("INVALID_ARGUMENT", `Cannot use "${path}" in the under-store: ${code}`, { cause: err });
  }
  if (code === "EACCES" || code === "EPERM") {
    throw new UfsError("PERMISSION_DENIED", `Cannot access "${path}" in the under-store`, { cause: err });
  }
  throw err;
}

/** An under-store on a local directory; no path, symlink included, can leave it. */
export class LocalUfs implements UnderFileSystem {
  readonly root: string;
  #realRoot: Promise<string>;
  /** Publishes of one path, in turn. */
  readonly #turns = new Turns();

  /** With `createRoot` false, a missing root directory is an error (NOT_FOUND) of every operation. */
  constructor(root: string, options: { createRoot?: boolean } = {}) {
    this.root = root;
    const made = options.createRoot === false ? Promise.resolve() : mkdir(root, { recursive: true }).then(() => {});
    this.#realRoot = made.then(() => realpath(root)).catch((err) => mapFsError(err, "/"));
    this.#realRoot.catch(() => {}); // reported by each operation
  }

  /**
   * Absolute path of `path` as a `kind` (its directories, and its last
   * name, escaped where the other kind holds the name), checked to stay
   * under the root after symlinks.
   */
  async #resolve(path: string, options: { createParents?: boolean; kind?: Kind } = {}): Promise<string> {
    const segments = pathSegments(path);
    const root = await this.#realRoot;
    if (segments.length === 0) return root;
    const plain = segments.slice(0, -1).every((s) => !STEP_NAMES.has(s));
    let realParent = plain ? await realpath(join(root, ...segments.slice(0, -1))).catch(() => undefined) : undefined;
    if (realParent === undefined || (await kindAt(realParent)) !== "directory") {
      // Not every directory on the way has its plain name (or is there yet): walked one by one.
      let dir = root;
      for (const s of segments.slice(0, -1)) {
        dir = join(dir, await nameIn(dir, s, "directory"));
        if (options.createParents) await mkdir(dir).catch((e) => (e as NodeJS.ErrnoException).code === "EEXIST" || mapFsError(e, path));
      }
      try {
        realParent = await realpath(dir);
      } catch (err) {
        mapFsError(err, path);
      }
    }
    if (realParent !== root && !realParent.startsWith(root + sep)) {
      throw new UfsError("PERMISSION_DENIED", `Cannot use "${path}": it leads out of the under-store`);
    }
    return join(realParent, await nameIn(realParent, segments[segments.length - 1] as string, options.kind ?? "file"));
  }

  /** The status of the file at `path`, else of the directory. */
  async stat(path: string): Promise<UfsStatus | undefined> {
    for (const kind of ["file", "directory"] as const) {
      const abs = await this.#resolve(path, { kind }).catch((e) => {
        if (e instanceof UfsError && e.code === "NOT_FOUND") return undefined;
        throw e;
      });
      if (abs === undefined) return undefined;
      try {
        return statusOf(await stat(abs, { bigint: true }));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ENOTDIR") mapFsError(err, path);
      }
    }
    return undefined;
  }

  async list(path: string): Promise<UfsEntry[]> {
    const abs = await this.#resolve(path, { kind: "directory" });
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (err) {
      mapFsError(err, path);
    }
    const entries: UfsEntry[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) continue;
      try {
        const status = statusOf(await stat(join(abs, name), { bigint: true }));
        entries.push({ name: unescaped(name, status.type), ...status });
      } catch {
        // removed while listing
      }
    }
    return entries;
  }

  async openRange(path: string, offset: number, length: number, fingerprint?: string): Promise<Readable> {
    const abs = await this.#resolve(path);
    let handle: import("node:fs/promises").FileHandle;
    try {
      handle = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      mapFsError(err, path);
    }
    const status = statusOf(await handle.stat({ bigint: true }));
    if (fingerprint !== undefined && status.fingerprint !== fingerprint) {
      await handle.close();
      throw new UfsError("STALE", `Cannot read "${path}": it changed in the under-store`);
    }
    if (length === 0) {
      await handle.close();
      const { Readable } = await import("node:stream");
      return Readable.from([]);
    }
    return createReadStream("", { fd: handle, start: offset, end: offset + length - 1, highWaterMark: 1 << 20 });
  }

  async write(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<UfsStatus> {
    const staged = await this.stage(path, source);
    return (await this.publish(staged.stagedPath, path)).status;
  }

  async stage(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<StagedWrite> {
    const abs = await this.#resolve(path, { createParents: true });
    const name = `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`;
    const tmp = join(abs, "..", name);
    const sink = createWriteStream(tmp, { flush: true, highWaterMark: 1 << 20 });
    try {
      await pipeline(source, sink);
    } catch (err) {
      // The file may still be opening or closing: remove it only once closed.
      if (!sink.closed) await new Promise<void>((resolve) => sink.once("close", () => resolve()));
      await unlink(tmp).catch(() => {});
      if ((err as NodeJS.ErrnoException).code) mapFsError(err, path);
      throw err;
    }
    const segments = pathSegments(path);
    return { stagedPath: `/${[...segments.slice(0, -1), name].join("/")}`, status: statusOf(await stat(tmp, { bigint: true })) };
  }

  async publish<T>(stagedPath: string, path: string, turn: PublishTurn<T> = {}): Promise<Published<T>> {
    const from = await this.#resolve(stagedPath);
    const to = await this.#resolve(path, { createParents: true });
    // A rename keeps size, mtime and inode: the staged file's status is the published one's.
    const status = statusOf(await stat(from, { bigint: true }).catch((err) => mapFsError(err, stagedPath)));
    const swapped = await this.#turns.run(to, async () => {
      if (turn.proceed && !turn.proceed()) return undefined;
      try {
        await rename(from, to);
      } catch (err) {
        mapFsError(err, path);
      }
      return { result: turn.onSwap?.(status) };
    });
    if (!swapped) {
      await this.discard(stagedPath);
      return { published: false, status, result: undefined };
    }
    await syncDirectory(join(to, ".."));
    return { published: true, status, result: swapped.result };
  }

  async discard(stagedPath: string): Promise<void> {
    await unlink(await this.#resolve(stagedPath)).catch(() => {});
  }

  async *ownEntries(): AsyncIterable<OwnEntry> {
    const root = await this.#realRoot;
    const walk = async function* (dir: string, rel: string): AsyncIterable<OwnEntry> {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return; // removed while walking
      }
      for (const entry of entries) {
        const path = `${rel}/${entry.name}`;
        const abs = join(dir, entry.name);
        if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX)) {
          const s = await stat(abs).catch(() => undefined);
          if (s) yield { path, mtimeMs: s.mtimeMs };
        } else if (entry.isDirectory() && rel === "" && entry.name === UPLOADS_DIR) {
          for (const upload of await readdir(abs).catch(() => [] as string[])) {
            const files = await readdir(join(abs, upload)).catch(() => [] as string[]);
            const times = await Promise.all(
              files.map((f) =>
                stat(join(abs, upload, f)).then(
                  (s) => s.mtimeMs,
                  () => 0,
                ),
              ),
            );
            const own = await stat(join(abs, upload)).catch(() => undefined);
            if (own) yield { path: `${path}/${upload}`, mtimeMs: Math.max(own.mtimeMs, ...times) };
          }
        } else if (entry.isDirectory()) {
          yield* walk(abs, path);
        }
      }
    };
    yield* walk(root, "");
  }

  async mkdir(path: string): Promise<void> {
    const abs = await this.#resolve(path, { createParents: true, kind: "directory" });
    try {
      await mkdir(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        const s = await stat(abs);
        if (s.isDirectory()) return;
      }
      mapFsError(err, path);
    }
  }

  async delete(path: string, options: { recursive?: boolean; directory?: boolean } = {}): Promise<void> {
    let abs = await this.#resolve(path, { kind: options.directory ? "directory" : "file" });
    // A path with no file may name a directory (as it did before files and directories could share names).
    if (!options.directory && (await kindAt(abs)) === undefined) abs = await this.#resolve(path, { kind: "directory" });
    if (abs === (await this.#realRoot)) throw new UfsError("INVALID_ARGUMENT", "Cannot delete the under-store root");
    try {
      const s = await stat(abs);
      if (!s.isDirectory()) await unlink(abs);
      else if (options.recursive) await rm(abs, { recursive: true });
      else await rmdir(abs);
    } catch (err) {
      mapFsError(err, path);
    }
  }

  async rename(src: string, dst: string, options: { directory?: boolean } = {}): Promise<void> {
    const kind = options.directory ? "directory" : "file";
    const from = await this.#resolve(src, { kind });
    const to = await this.#resolve(dst, { createParents: true, kind });
    try {
      await rename(from, to);
    } catch (err) {
      mapFsError(err, src);
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
