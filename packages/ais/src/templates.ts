import { AisError } from "./errors.ts";

/** `text` matched literally in a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One numeric range of a template: from, to, step, and the digits of a zero-padded one (0: not padded). */
interface NumericRange {
  from: number;
  to: number;
  step: number;
  width: number;
}

/**
 * An AIS object-name template (docs/batch.md): bash braces
 * `shard-{0000..0999}.tar`, with a step `{0..100..2}`, several ranges
 * multiplying; the "at" form `pre-@00100` (0 up to 100, five digits). A
 * template with no range is a prefix. Leading zeros set the width.
 */
export class Template {
  /** The literal text before the first range: what a listing may start from. */
  readonly prefix: string;
  readonly #parts: (string | NumericRange)[];
  readonly #pattern: RegExp | undefined;

  constructor(text: string) {
    const parts: (string | NumericRange)[] = [];
    const re = /\{(\d+)\.\.(\d+)(?:\.\.(\d+))?\}|@(\d+)/g;
    let last = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      parts.push(text.slice(last, m.index));
      const fromText = m[4] === undefined ? (m[1] as string) : "0";
      const toText = m[4] ?? (m[2] as string);
      const range = {
        from: Number(fromText),
        to: Number(toText),
        step: m[3] === undefined ? 1 : Number(m[3]),
        width: m[4] !== undefined || fromText.startsWith("0") ? toText.length : 0,
      };
      if (range.step < 1 || range.to < range.from) throw new AisError(400, `invalid range "${m[0]}" in template "${text}"`);
      parts.push(range);
      last = m.index + m[0].length;
    }
    parts.push(text.slice(last));
    this.#parts = parts;
    this.prefix = parts[0] as string;
    this.#pattern =
      parts.length === 1 ? undefined : new RegExp(`^${parts.map((p) => (typeof p === "string" ? escapeRegExp(p) : "(\\d+)")).join("")}$`);
  }

  /** Whether the template has no range (it is a prefix). */
  get isPrefix(): boolean {
    return this.#pattern === undefined;
  }

  /** Whether `name` is one the template names. */
  matches(name: string): boolean {
    if (!this.#pattern) return name.startsWith(this.prefix);
    const m = this.#pattern.exec(name);
    if (!m) return false;
    const ranges = this.#parts.filter((p): p is NumericRange => typeof p !== "string");
    return ranges.every((r, i) => {
      const digits = m[i + 1] as string;
      const n = Number(digits);
      if (r.width > 0 ? digits.length !== r.width : digits !== String(n)) return false;
      return n >= r.from && n <= r.to && (n - r.from) % r.step === 0;
    });
  }
}
