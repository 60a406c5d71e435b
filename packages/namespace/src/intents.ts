import { randomUUID } from "node:crypto";
import type { Logger } from "@koine/log";
import { parentPath, parsePath, type UfsLocation } from "@koine/protocol";
import type { Database, RootDatabase } from "lmdb";
import type { Namespace } from "./namespace.ts";
import type { UfsSync } from "./sync.ts";

/** An under-store change under way: the paths whose entries it may leave out of step with the under-store. */
export interface Intent {
  paths: string[];
  at: number;
  /** Bytes of versions the change moves in an under-store (S3 versions), put where LMDB says once it is over. */
  moves?: VersionMove[];
}

/** The bytes of content `contentId` of `path`, moved from one under-store place to another. */
export interface VersionMove {
  path: string;
  contentId: string;
  from: UfsLocation;
  to: UfsLocation;
}

/** An intent begun: settle it once the change is done or failed. */
export interface Settle {
  moves: VersionMove[];
  settle(): void;
}

/**
 * Intents: before the leader changes an under-store in a way the namespace
 * must follow (publishing a write, a rename, a delete), it journals the
 * paths the change touches, and settles the intent once both sides are
 * done. A leader that dies in between leaves it open: the next leader
 * compares those paths with the under-store before it answers
 * ({@link resolve}), so the namespace names what the under-store holds.
 */
export class Intents {
  readonly #ns: Namespace;
  readonly #intents: Database<Intent, string>;

  constructor(root: RootDatabase, ns: Namespace) {
    this.#ns = ns;
    this.#intents = root.openDB({ name: "intents" });
    ns.defineChange("intend", (at, id: string, paths: string[], moves: VersionMove[] | undefined) => {
      this.#intents.put(id, { paths, at, ...(moves?.length ? { moves } : {}) });
    });
    ns.defineChange("settleIntent", (_at, id: string) => {
      this.#intents.remove(id);
    });
  }

  /**
   * Journals that a change of `paths` begins; `settle` once it is done, or
   * failed (journaled without waiting). Waits for the journal only, not for
   * LMDB: whoever looks at intents has applied the journal first.
   */
  async begin(paths: string[], moves: VersionMove[] = []): Promise<Settle> {
    const id = randomUUID();
    await this.#ns.change("intend", [id, paths, ...(moves.length ? [moves] : [])], "journaled");
    return {
      moves,
      settle: () => void this.#ns.change("settleIntent", [id]).catch(() => {}),
    };
  }

  /**
   * Brings the paths of every open intent in step with the under-store (a
   * leader died between the two sides of a change), then settles it.
   */
  async resolve(sync: UfsSync, log: Logger, settleMoves: (moves: VersionMove[]) => Promise<void>): Promise<void> {
    // Read first: settling each removes it.
    for (const { key: id, value: intent } of [...this.#intents.getRange({})]) {
      try {
        if (intent.moves) await settleMoves(intent.moves);
        for (const path of intent.paths) {
          // A directory gone from the under-store is seen in its parent's listing; a file by its own status.
          if (this.#ns.lookup(parsePath(path))?.type === "directory") await sync.directory(parentPath(path), { loadMetadata: "ALWAYS" });
          await sync.path(path, { loadMetadata: "ALWAYS" });
        }
        await this.#ns.change("settleIntent", [id]);
        log.warn(
          { paths: intent.paths, since: new Date(intent.at).toISOString() },
          "brought the paths of a change a leader left unfinished in step with the under-store",
        );
      } catch (err) {
        log.warn({ err, paths: intent.paths }, "cannot bring the paths of an unfinished change in step with the under-store yet");
      }
    }
  }
}
