import type { Static, TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";

/** A request/reply endpoint: its subject and the shapes of both messages. */
export interface Rpc<Req extends TSchema = TSchema, Rep extends TSchema = TSchema> {
  readonly subject: string;
  readonly request: TypeCheck<Req>;
  readonly reply: TypeCheck<Rep>;
}

export type RequestOf<R> = R extends Rpc<infer Q, TSchema> ? Static<Q> : never;
export type ReplyOf<R> = R extends Rpc<TSchema, infer P> ? Static<P> : never;

/** Defines an endpoint; schemas are compiled once, here. */
export function rpc<Req extends TSchema, Rep extends TSchema>(subject: string, request: Req, reply: Rep): Rpc<Req, Rep> {
  return { subject, request: TypeCompiler.Compile(request), reply: TypeCompiler.Compile(reply) };
}

/** A published event: its subject and compiled schema. */
export interface EventType<E extends TSchema = TSchema> {
  readonly subject: string;
  readonly payload: TypeCheck<E>;
}

export function event<E extends TSchema>(subject: string, payload: E): EventType<E> {
  return { subject, payload: TypeCompiler.Compile(payload) };
}

/** First validation error of `value`, as one readable line. */
export function describeInvalid(check: TypeCheck<TSchema>, value: unknown): string {
  const first = check.Errors(value).First();
  return first ? `${first.path || "/"}: ${first.message}` : "invalid";
}
