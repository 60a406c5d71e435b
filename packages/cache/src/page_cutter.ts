/**
 * Cuts a stream of chunks into pages of `pageSize` bytes: `push` returns the
 * pages a chunk completes, `finish` the last, shorter one (if any). Pages
 * are copies, so they keep no chunk of the stream alive.
 */
export class PageCutter {
  readonly #pageSize: number;
  #parts: Buffer[] = [];
  #have = 0;

  constructor(pageSize: number) {
    this.#pageSize = pageSize;
  }

  push(chunk: Buffer): Buffer[] {
    const pages: Buffer[] = [];
    let rest = chunk;
    while (rest.length > 0) {
      const take = Math.min(rest.length, this.#pageSize - this.#have);
      this.#parts.push(rest.subarray(0, take));
      this.#have += take;
      rest = rest.subarray(take);
      if (this.#have === this.#pageSize) pages.push(this.#take());
    }
    return pages;
  }

  finish(): Buffer | undefined {
    return this.#have > 0 ? this.#take() : undefined;
  }

  #take(): Buffer {
    const page = Buffer.concat(this.#parts, this.#have);
    this.#parts = [];
    this.#have = 0;
    return page;
  }
}
