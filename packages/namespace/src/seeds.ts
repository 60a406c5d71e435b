import { Setting } from "@koine/config";
import type { PutUserRequest } from "@koine/protocol";

export const DEFAULT_ACCESS_KEY = "koine";
export const DEFAULT_SECRET_KEY = "koinesecret";

/** The users metadata seeds at start-up (see {@link parseUsers}). */
export const USER_SETTINGS = {
  KOINE_ACCESS_KEY: Setting.text(DEFAULT_ACCESS_KEY, "Access key of the first user, an admin"),
  KOINE_SECRET_KEY: Setting.text(DEFAULT_SECRET_KEY, "Its secret key"),
  KOINE_S3_USERS: Setting.text("", "More users seeded at start-up: ak:sk[:group+group],ak2:sk2"),
};

const ACCESS_KEY = /^[A-Za-z0-9._-]{3,128}$/;
const GROUP = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The users to seed at start-up: KOINE_ACCESS_KEY / KOINE_SECRET_KEY (default
 * koine / koinesecret), an admin, and every "ak:sk" or "ak:sk:group+group"
 * of KOINE_S3_USERS, plain users.
 */
export function parseUsers(env: NodeJS.ProcessEnv = process.env): PutUserRequest[] {
  const accessKey = env.KOINE_ACCESS_KEY ?? DEFAULT_ACCESS_KEY;
  const secretKey = env.KOINE_SECRET_KEY ?? DEFAULT_SECRET_KEY;
  if (!ACCESS_KEY.test(accessKey) || secretKey.length < 8) {
    throw new Error("KOINE_ACCESS_KEY must be 3+ letters, digits, . _ -; KOINE_SECRET_KEY 8+ characters");
  }
  const users = new Map<string, PutUserRequest>([[accessKey, { accessKey, secretKey, groups: [], admin: true }]]);
  for (const entry of (env.KOINE_S3_USERS ?? "").split(",").filter((p) => p.trim() !== "")) {
    const [ak = "", sk = "", groups = "", ...extra] = entry.trim().split(":");
    const groupList = groups === "" ? [] : groups.split("+");
    if (!ACCESS_KEY.test(ak) || sk.length < 8 || extra.length > 0 || !groupList.every((g) => GROUP.test(g))) {
      throw new Error(
        `KOINE_S3_USERS must be "accessKey:secretKey[:group+group],..." (keys of 3+ letters, digits, . _ -; secrets of 8+), not "${entry}"`,
      );
    }
    users.set(ak, { accessKey: ak, secretKey: sk, groups: groupList, admin: false });
  }
  return [...users.values()];
}

/**
 * How a start-up banner speaks of the seeded admin: its access key and
 * whether it is the default pair, never the secret.
 */
export function describeCredentials(seeds: readonly PutUserRequest[]): string {
  const first = seeds[0];
  if (!first) return "no seeded user";
  return first.accessKey === DEFAULT_ACCESS_KEY && first.secretKey === DEFAULT_SECRET_KEY
    ? `admin ${first.accessKey}: the default credentials (see the README); set KOINE_ACCESS_KEY and KOINE_SECRET_KEY to your own`
    : `admin ${first.accessKey} (its secret is the KOINE_SECRET_KEY you set)`;
}
