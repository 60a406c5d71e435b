/**
 * The Apache Ozone v1 REST dialect (volumes, buckets, keys; "simple"
 * auth by header): Ozone's error table and bodies, its name, quota, ACL
 * and date grammars, its JSON, and the plugin that serves them over the
 * shared client. `../shared/reference/wire/ozone.md`.
 * @module
 */
export { aclChanges, changedAcls, type OzoneAcl, parseAcl } from "./acls.ts";
export { BUILT_IN_ADMINS, type OzoneAuthMode, ozoneClientErrorHandler, parseOzoneGroups } from "./context.ts";
export { formatOzoneDate, parseOzoneDate } from "./dates.ts";
export { ERROR_TABLE, OzoneError, type OzoneErrorCode } from "./errors.ts";
export { jacksonPretty } from "./json.ts";
export { resourceNameProblem } from "./names.ts";
export { type OzonePluginOptions, ozonePlugin } from "./plugin.ts";
export { MAX_QUOTA_BYTES, parseQuota, quotaOf } from "./quota.ts";
