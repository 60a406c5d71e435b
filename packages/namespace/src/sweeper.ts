import type { Logger } from "@koine/log";
import type { Mount } from "@koine/protocol";
import { TEMP_PREFIX, type UfsRegistry, UPLOADS_DIR } from "@koine/ufs";

/** How often the under-stores are swept of what koine left behind. */
export const DEFAULT_SWEEP_INTERVAL_MS = 10 * 60_000;
/**
 * How long a staged write is left alone after its last byte. Its commit
 * comes within seconds (retried for about three); one that comes later
 * finds the bytes gone and fails, so nothing acknowledged is ever swept.
 */
export const DEFAULT_SWEEP_GRACE_MS = 60 * 60_000;

export interface SweepOptions {
  intervalMs: number;
  graceMs: number;
}

/** What one sweep removed. */
export interface Swept {
  stagedWrites: number;
  uploads: number;
}

/**
 * Removes koine's leftovers from every writable under-store, at start and
 * then every `intervalMs`: staged writes whose commit never came (older than
 * `graceMs`), and the staging directories of multipart uploads that no
 * longer exist (aborted, completed, or lost).
 */
export class Sweeper {
  readonly #stores: UfsRegistry;
  readonly #mounts: () => Mount[];
  readonly #uploadExists: (uploadId: string) => boolean;
  readonly #log: Logger;
  readonly #options: SweepOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(stores: UfsRegistry, mounts: () => Mount[], uploadExists: (uploadId: string) => boolean, log: Logger, options: SweepOptions) {
    this.#log = log;
    this.#stores = stores;
    this.#mounts = mounts;
    this.#uploadExists = uploadExists;
    this.#options = options;
  }

  start(): void {
    const run = () => {
      this.#running = this.#running.then(() => this.sweep()).catch((err) => this.#log.error({ err }, "sweep failed"));
    };
    run();
    this.#timer = setInterval(run, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One sweep of every writable mount. */
  async sweep(): Promise<Swept> {
    const swept: Swept = { stagedWrites: 0, uploads: 0 };
    const cutoff = Date.now() - this.#options.graceMs;
    for (const mount of this.#mounts()) {
      if (!mount.readOnly)
        await this.#sweepMount(mount, cutoff, swept).catch((err) => this.#log.error({ err, uri: mount.uri }, "cannot sweep"));
    }
    if (swept.stagedWrites + swept.uploads > 0) {
      this.#log.info(swept, "swept staged writes and upload staging directories no commit can claim");
    }
    return swept;
  }

  async #sweepMount(mount: Mount, cutoff: number, swept: Swept): Promise<void> {
    const ufs = await this.#stores.get(mount.id);
    for await (const entry of ufs.ownEntries()) {
      if (entry.mtimeMs > cutoff) continue;
      const name = entry.path.slice(entry.path.lastIndexOf("/") + 1);
      if (entry.path.startsWith(`/${UPLOADS_DIR}/`)) {
        if (this.#uploadExists(name)) continue;
        await ufs.delete(entry.path, { recursive: true }).catch(() => {});
        swept.uploads++;
      } else if (name.startsWith(TEMP_PREFIX)) {
        await ufs.discard(entry.path);
        swept.stagedWrites++;
      }
    }
  }
}
