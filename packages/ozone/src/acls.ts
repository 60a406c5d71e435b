import { OzoneError } from "./errors.ts";

/** An Ozone ACL of a bucket: a user, a group or the world, and its rights. */
export interface OzoneAcl {
  type: "USER" | "GROUP" | "WORLD";
  name: string;
  rights: "READ" | "WRITE" | "READ_WRITE";
}

const RIGHTS: Record<string, OzoneAcl["rights"]> = { r: "READ", w: "WRITE", rw: "READ_WRITE", wr: "READ_WRITE" };

/** `<type>:<name>:<rights>` (`user:frodo:rw`, `group:hobbits:r`, `world::r`), or 400 malformedACL in Ozone's words. */
export function parseAcl(text: string): OzoneAcl {
  // Java's split drops trailing empty parts: "world::" has one.
  const parts = text.split(":");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length < 3) throw new OzoneError("MALFORMED_ACL", "ACLs are not in expected format");
  const [typeText = "", name = "", rightsText = ""] = parts;
  const type = typeText.toUpperCase();
  if (type !== "USER" && type !== "GROUP" && type !== "WORLD") {
    throw new OzoneError("MALFORMED_ACL", `No enum constant org.apache.hadoop.ozone.OzoneAcl.OzoneACLType.${type}`);
  }
  const rights = RIGHTS[rightsText.toLowerCase()];
  if (!rights) throw new OzoneError("MALFORMED_ACL", "ACL right is not recognized");
  if (type !== "WORLD" && name === "") throw new OzoneError("MALFORMED_ACL", "User or group name is required");
  if (type === "WORLD" && name !== "") throw new OzoneError("MALFORMED_ACL", "Unexpected name part in world type");
  return { type, name, rights };
}

/**
 * The `x-ozone-acls` headers of a request (one ACL a line; `x-ozone-acl`
 * taken too): the ACLs to add and to remove. A line that starts neither
 * with `ADD` nor `REMOVE` is ignored, as Ozone does.
 */
export function aclChanges(lines: readonly string[]): { add: OzoneAcl[]; remove: OzoneAcl[] } {
  const add: OzoneAcl[] = [];
  const remove: OzoneAcl[] = [];
  for (const line of lines) {
    if (line.startsWith("ADD")) add.push(parseAcl(line.replace("ADD", "").trim()));
    else if (line.startsWith("REMOVE")) remove.push(parseAcl(line.replace("REMOVE", "").trim()));
  }
  return { add, remove };
}

const same = (a: OzoneAcl, b: OzoneAcl) => a.type === b.type && a.name === b.name && a.rights === b.rights;

/** A bucket's ACLs after a change, as Ozone's manager makes it: the removed ones out, then the added ones not there yet, in order. */
export function changedAcls(current: readonly OzoneAcl[], change: { add: OzoneAcl[]; remove: OzoneAcl[] }): OzoneAcl[] {
  const kept = current.filter((acl) => !change.remove.some((r) => same(acl, r)));
  for (const acl of change.add) if (!kept.some((k) => same(k, acl))) kept.push(acl);
  return kept;
}
