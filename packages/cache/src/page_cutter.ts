/**
 * Cuts a stream of chunks into pages of `pageSize` bytes. `push` returns the
 * pages a chunk completes and `finish` the last, shorter one (if any), as
 * copies that keep no chunk of the stream alive; `pushParts` and
 * `finishParts` return each page as the views of the chunks it is made of,
 * copying nothing.
 */
export class PageCutter {
  readonly #pageSize: number;
  #parts: Buffer[] = [];
  #have = 0;

  constructor(pageSize: number) {
    this.#pageSize = pageSize;
  }

  push(chunk: Buffer): Buffer[] {
    return this.pushParts(chunk).map((parts) => Buffer.concat(parts));
  }

  finish(): Buffer | undefined {
    const parts = this.finishParts();
    return parts && Buffer.concat(parts);
  }

  pushParts(chunk: Buffer): Buffer[][] {
    const pages: Buffer[][] = [];
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

  finishParts(): Buffer[] | undefined {
    return this.#have > 0 ? this.#take() : undefined;
  }

  #take(): Buffer[] {
    const parts = this.#parts;
    this.#parts = [];
    this.#have = 0;
    return parts;
  }
}

/** The size of a page given whole or in parts. */
export function pageBytes(page: Buffer | readonly Buffer[]): number {
  return Buffer.isBuffer(page) ? page.length : page.reduce((sum, part) => sum + part.length, 0);
}
