import { RE2JS } from "re2js";
import { ErrorCode, KoineError } from "./errors.ts";

/** A regular expression over paths that a user gave (cache filters, load jobs' fileFilterRegex). */
export interface PathPattern {
  /** Whether the pattern matches anywhere in `path`, as RegExp.test does. */
  test(path: string): boolean;
}

/**
 * Compiles a user's regular expression with RE2 (re2js): matching takes time
 * linear in the path whatever the pattern, so none can hold a thread ("(a+)+$"
 * included). RE2 syntax: no backreferences or lookaround. A pattern RE2 cannot
 * compile is INVALID_ARGUMENT, naming `what`.
 */
export function compilePattern(source: string, what: string): PathPattern {
  let compiled: ReturnType<typeof RE2JS.compile>;
  try {
    compiled = RE2JS.compile(source);
  } catch (err) {
    throw new KoineError(ErrorCode.InvalidArgument, `${what} is not a regular expression RE2 takes: ${source}`, { cause: err });
  }
  return { test: (path) => compiled.matcher(path).find() };
}
