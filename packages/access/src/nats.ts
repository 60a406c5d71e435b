import { ROLE_PERMISSIONS, SERVICE_ROLES, type ServiceRole, type SubjectPermissions } from "@koine/protocol";
import { type ClusterKey, subKey } from "./seal.ts";

/** A NATS user name and password. */
export interface NatsCredentials {
  user: string;
  pass: string;
}

/** One user of a nats-server's configuration: a service role, its password and its subjects. */
export interface NatsUser {
  user: string;
  password: string;
  permissions: SubjectPermissions & { allow_responses: boolean };
}

/**
 * The NATS credentials of a service role: the role's name, and a password
 * derived from the cluster key for it (so that a server and its services
 * agree with no password to hand around; see docs/security.md).
 */
export function natsCredentials(key: ClusterKey, role: ServiceRole): NatsCredentials {
  return { user: role, pass: subKey(key, `nats:${role}`).toString("base64url") };
}

/** Every service role as a nats-server user, with the subjects it may use. */
export function natsUsers(key: ClusterKey): NatsUser[] {
  return SERVICE_ROLES.map((role) => {
    const { user, pass } = natsCredentials(key, role);
    return { user, password: pass, permissions: { ...ROLE_PERMISSIONS[role], allow_responses: true } };
  });
}
