/**
 * What each koine service may say on NATS: one NATS user per service role,
 * with the subjects it may publish to (requests it may make, events it may
 * send) and subscribe to. A front-end cannot call the user-admin subjects
 * nor rewrite the job queue; a cache node cannot read users' sealed secrets.
 * nats-server enforces these (the launcher, scripts and tests write them
 * into its configuration).
 */

export const SERVICE_ROLES = [
  "metadata",
  "cache-node",
  "job-runner",
  "s3-gateway",
  "alluxio-proxy",
  "alluxio-admin",
  "ais-gateway",
  "ais-target",
  "ozone-gateway",
  "console",
] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

export interface SubjectPermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
}

/** Replies come back on inboxes; events are heard by all. */
const LISTEN = ["_INBOX.>", "koine.events.>"];
/** JetStream and KV reads (stream and consumer info, consumers of KV watches, direct gets). */
const JETSTREAM = ["$JS.API.>", "$JS.ACK.>", "$JS.FC.>"];
/** A metadata subject as every shard answers it: shard 0 on the subject, shard k on `<subject>.k`. */
const everyShard = (subject: string) => [subject, `${subject}.>`];
/** What only an admin service may change: users, the mount table. */
const ADMIN_SUBJECTS = ["koine.meta.users.put", "koine.meta.users.remove", "koine.meta.mount", "koine.meta.unmount"].flatMap(everyShard);
/**
 * JetStream calls that reshape or empty streams, or move their leaders
 * (metadata moves its journal's off its own server; anyone else could stall
 * its appends at will): only metadata and the admin service.
 */
const STREAM_CHANGES = [
  "$JS.API.STREAM.DELETE.>",
  "$JS.API.STREAM.PURGE.>",
  "$JS.API.STREAM.UPDATE.>",
  "$JS.API.STREAM.MSG.DELETE.>",
  "$JS.API.STREAM.LEADER.STEPDOWN.>",
  "$JS.API.CONSUMER.DELETE.>",
  "$JS.API.CONSUMER.LEADER.STEPDOWN.>",
];
/** Users' sealed secrets: for the services that check credentials. */
const CREDENTIALS = "koine.meta.users.credentials";

/** A front-end of a data dialect (S3, AIS, Ozone): the namespace and the cache, no administration. */
const GATEWAY: SubjectPermissions = {
  publish: {
    allow: ["koine.meta.>", "koine.cache.>", "koine.events.free", "koine.jobs.persist", ...JETSTREAM],
    deny: [...ADMIN_SUBJECTS, ...STREAM_CHANGES],
  },
  subscribe: { allow: LISTEN, deny: [] },
};

/** The admin API's service: everything a cluster's administration asks. */
const ADMIN: SubjectPermissions = {
  publish: { allow: ["koine.meta.>", "koine.cache.>", "koine.events.>", "koine.jobs.>", "$KV.>", ...JETSTREAM], deny: [] },
  subscribe: { allow: LISTEN, deny: [] },
};

/** Where a role announces its services: its own keys of the services bucket only. */
const announces = (role: ServiceRole) => `$KV.koine-services.${role}.>`;

/** Each role's own subjects. */
const OWN_PERMISSIONS: Record<ServiceRole, SubjectPermissions> = {
  metadata: {
    // koine.journal.>: the namespace's journal, which only metadata appends to; its replicas' leases and snapshots.
    publish: {
      allow: [
        "koine.events.>",
        "koine.jobs.>",
        "koine.journal.>",
        "$KV.koine-metadata-leases.>",
        "$O.koine-metadata-snapshots.>",
        ...JETSTREAM,
      ],
      deny: [],
    },
    subscribe: { allow: ["koine.meta.>", ...LISTEN], deny: [] },
  },
  "cache-node": {
    publish: {
      allow: ["koine.meta.>", "koine.events.>", "$KV.koine-members.>", ...JETSTREAM],
      deny: [...ADMIN_SUBJECTS, ...everyShard(CREDENTIALS), ...STREAM_CHANGES],
    },
    subscribe: { allow: ["koine.cache.>", ...LISTEN], deny: [] },
  },
  "job-runner": {
    publish: {
      allow: ["koine.meta.>", "koine.cache.>", "koine.events.>", "koine.jobs.>", "$KV.>", ...JETSTREAM],
      deny: [...ADMIN_SUBJECTS, ...everyShard(CREDENTIALS), ...STREAM_CHANGES],
    },
    subscribe: { allow: LISTEN, deny: [] },
  },
  "s3-gateway": GATEWAY,
  // AIS's gateway also starts jobs (multi-object delete, evict, prefetch, copies): their records and the run queue.
  "ais-gateway": {
    publish: {
      allow: [...GATEWAY.publish.allow, "koine.jobs.run", "$KV.koine-jobs.>"],
      deny: GATEWAY.publish.deny,
    },
    subscribe: GATEWAY.subscribe,
  },
  // The AIS port of a cache node: objects only.
  "ais-target": GATEWAY,
  "ozone-gateway": GATEWAY,
  "alluxio-proxy": {
    // The proxy mounts (for an admin who asks through it); users it does not manage.
    publish: {
      allow: ["koine.meta.>", "koine.cache.>", "koine.events.free", "koine.jobs.persist", ...JETSTREAM],
      deny: ["koine.meta.users.put", "koine.meta.users.remove", ...STREAM_CHANGES],
    },
    subscribe: { allow: LISTEN, deny: [] },
  },
  "alluxio-admin": ADMIN,
  // The web console serves the admin API (and S3) on its own port.
  console: ADMIN,
};

/** Each role's subjects, and its announcements (`allow_responses` lets every subscriber answer the requests it hears). */
export const ROLE_PERMISSIONS = Object.fromEntries(
  SERVICE_ROLES.map((role) => {
    const own = OWN_PERMISSIONS[role];
    return [role, { ...own, publish: { ...own.publish, allow: [...own.publish.allow, announces(role)] } }];
  }),
) as Record<ServiceRole, SubjectPermissions>;
