import type { FastifyInstance } from "fastify";

/**
 * Bodies left for the handler to read as a stream (object bytes): fastify
 * parses none, whatever their content type.
 */
export function streamedBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));
}

/**
 * Bodies read as JSON whatever their content type says (clients send forms,
 * or `application/json` on everything), up to `bodyLimit` bytes; an empty
 * body (and, with `nullIsEmpty`, `null`) is none; one that is not JSON is
 * the dialect's own error, `invalid()`.
 */
export function jsonBodies(app: FastifyInstance, options: { bodyLimit: number; invalid: () => Error; nullIsEmpty?: boolean }): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string", bodyLimit: options.bodyLimit }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === "" || (options.nullIsEmpty && text === "null")) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(options.invalid(), undefined);
    }
  });
}
