import { ErrorCode, KoineError, type Mount } from "@koine/protocol";
import { openUfs } from "./open.ts";
import type { UnderFileSystem } from "./ufs.ts";

/** The under-store of each mount, opened on first use from the mount table `mounts()` gives. */
export class UfsRegistry {
  readonly #mounts: () => readonly Mount[] | Promise<readonly Mount[]>;
  readonly #open = new Map<string, UnderFileSystem>();
  readonly #reveal: (properties: Readonly<Record<string, string>>) => Record<string, string>;

  /**
   * The under-stores of `mounts`, opened on first use; `reveal` opens the
   * sealed credentials of a mount's properties (metadata keeps them sealed).
   */
  constructor(
    mounts: () => readonly Mount[] | Promise<readonly Mount[]>,
    reveal: (properties: Readonly<Record<string, string>>) => Record<string, string> = (p) => ({ ...p }),
  ) {
    this.#mounts = mounts;
    this.#reveal = reveal;
  }

  async get(mountId: string): Promise<UnderFileSystem> {
    const known = this.#open.get(mountId);
    if (known) return known;
    const mount = (await this.#mounts()).find((m) => m.id === mountId);
    if (!mount) throw new KoineError(ErrorCode.NotFound, `Cannot find mount "${mountId}"`);
    const ufs = openUfs({ ...mount, properties: this.#reveal(mount.properties ?? {}) });
    this.#open.set(mountId, ufs);
    return ufs;
  }

  /** Forgets an unmounted mount's under-store. */
  drop(mountId: string): void {
    this.#open.delete(mountId);
  }
}
