/**
 * Who may do what, the same for every dialect: principals, the actions of
 * every dialect's operations, the one decision ({@link isAllowed}) over
 * ownership, mode bits, ACL grants and bucket policies, and the cluster key
 * that seals secrets.
 * @module
 */
export {
  ALL_USERS_URI,
  AUTHENTICATED_USERS_URI,
  CANNED_ACLS,
  type CannedAcl,
  cannedGrants,
  granteeOf,
  grantsOf,
  isPublicGrant,
} from "./acl.ts";
export { DATA_SIGNATURE_HEADER, DataRequestSigner, PageSealer } from "./data_plane.ts";
export { type NatsCredentials, type NatsUser, natsCredentials, natsUsers } from "./nats.ts";
export { isPublicPolicy, type PolicyContext, PolicyError, parsePolicy } from "./policy.ts";
export { anonymous, type Identities, namedUser, type Principal, principalOf, type RequestFacts } from "./principal.ts";
export { ACTIONS, type Action, isAllowed, resourceArn, type Subject } from "./rules.ts";
export {
  type ClusterKey,
  clusterKeyOf,
  loadClusterKey,
  openProperties,
  sameText,
  seal,
  sealProperties,
  subKey,
  unseal,
} from "./seal.ts";
export { BearerTokens, DEFAULT_TOKEN_LIFETIME_MS } from "./tokens.ts";
