/**
 * Cuts a stream of chunks into pages of `pageSize` bytes. `push` returns the
 * pages a chunk completes and `finish` the last, shorter one (if any), each
 * a buffer that keeps no other memory alive (a copy, unless a chunk is a
 * whole page and owns all of its memory); `pushParts` and
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
    return this.pushParts(chunk).map(whole);
  }

  finish(): Buffer | undefined {
    const parts = this.finishParts();
    return parts && whole(parts);
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

/** A page as one buffer of its own: a chunk that is the page and all of its memory as it is (a read of a page's size), else a copy. */
function whole(parts: Buffer[]): Buffer {
  const [only] = parts;
  if (parts.length === 1 && only && only.byteOffset === 0 && only.length === only.buffer.byteLength) return only;
  return Buffer.concat(parts);
}

/** The size of a page given whole or in parts. */
export function pageBytes(page: Buffer | readonly Buffer[]): number {
  return Buffer.isBuffer(page) ? page.length : page.reduce((sum, part) => sum + part.length, 0);
}
