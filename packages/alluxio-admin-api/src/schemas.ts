import { Schemas } from "@koine/protocol";
import { type Static, Type as T } from "@sinclair/typebox";

/**
 * The admin API's requests as TypeBox route schemas: fastify validates
 * (and types) each body and query before its handler runs; a request that
 * does not fit is a 400 `{"status": …}` naming the field. Unknown fields
 * are ignored, as Alluxio's Jackson does; rules across fields (either
 * paths or index) stay in the handlers.
 */
const Text = T.String();
const Paths = T.Array(T.String({ minLength: 1 }), { minItems: 1 });
/** Job options: checked against the job schema by the handler (numbers may come as strings, the older form). */
const Options = T.Record(T.String(), T.Unknown());
const Duration = T.Union([T.Integer({ minimum: 0 }), T.String()]);

export const JobQuery = T.Object({
  id: T.Optional(Text),
  alias: T.Optional(Text),
  index: T.Optional(Text),
  count: T.Optional(T.Integer({ minimum: 0 })),
  lastKey: T.Optional(Text),
});
export const RebalanceQuery = T.Object({
  id: T.Optional(Text),
  target: T.Optional(Text),
  count: JobQuery.properties.count,
  lastKey: T.Optional(Text),
});
export const JobSubmit = T.Object({
  paths: T.Optional(Paths),
  index: T.Optional(Text),
  alias: T.Optional(Text),
  options: T.Optional(Options),
});
export const JobStop = T.Object({ id: T.Optional(Text), alias: T.Optional(Text), index: T.Optional(Text) });
export const RebalanceSubmit = T.Object({ target: T.Optional(Text), options: T.Optional(Options) });
export const RebalanceStop = T.Object({ id: T.Optional(Text), target: T.Optional(Text) });
export const NodeQuery = T.Object({ id: T.Optional(Text) });
export const ObjectQuery = T.Object({ path: Text });
export const NodeBody = T.Union([T.Object({ id: T.Optional(Text) }), T.Null()]);
export const PathList = T.Object({ paths: Paths });
export const MountAdd = T.Object({
  path: T.String({ minLength: 1 }),
  ufs: T.String({ minLength: 1 }),
  readOnly: T.Optional(T.Boolean()),
  options: T.Optional(T.Record(T.String(), T.Union([T.String(), T.Number(), T.Boolean()]))),
});
export const MountRemove = T.Object({ path: T.String({ minLength: 1 }) });
export const PolicyPath = T.Object({ path: T.String({ minLength: 1 }) });
export const QuotaAdd = T.Object({
  path: T.String({ minLength: 1 }),
  size: T.Optional(T.Union([T.Integer({ minimum: 0 }), T.String()])),
  bytes: T.Optional(T.Integer({ minimum: 0 })),
});
export const TtlAdd = T.Object({ path: T.String({ minLength: 1 }), time: T.Optional(Duration), ttl: T.Optional(Duration) });
export const PriorityAdd = T.Object({
  path: T.String({ minLength: 1 }),
  priority: T.Union([T.Literal("HIGH"), T.Literal("MEDIUM"), T.Literal("LOW")]),
});
export const CacheFilterAdd = T.Object({
  type: T.Union([T.Literal("immutable"), T.Literal("maxAge"), T.Literal("skipCache")]),
  pattern: T.Optional(Text),
  default: T.Optional(T.Boolean()),
  time: T.Optional(Duration),
});
export const CacheFilterRemove = T.Object({ pattern: T.Optional(Text), default: T.Optional(T.Boolean()) });

export type JobSubmit = Static<typeof JobSubmit>;

export const UserAdd = T.Object({
  accessKey: Schemas.PutUserRequest.properties.accessKey,
  /** Generated (and shown this once) when absent. */
  secretKey: T.Optional(Schemas.PutUserRequest.properties.secretKey),
  groups: T.Optional(Schemas.User.properties.groups),
  admin: T.Optional(T.Boolean()),
});
export const UserRemove = T.Object({ accessKey: T.String({ minLength: 1 }) });
