/**
 * Runs tasks of one key one after another, in call order; tasks of
 * different keys run at once. A key is forgotten when its last task ends.
 */
export class Turns {
  readonly #last = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#last.get(key) ?? Promise.resolve();
    const next = before.catch(() => {}).then(task);
    this.#last.set(key, next);
    void next
      .catch(() => {})
      .finally(() => {
        if (this.#last.get(key) === next) this.#last.delete(key);
      });
    return next;
  }
}
