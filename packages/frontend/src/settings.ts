import { Setting } from "@koine/config";

export const DEFAULT_ACCESS_KEY = "koine";
export const DEFAULT_SECRET_KEY = "koinesecret";

/** The S3 users' settings, read by every front-end that checks signatures (see {@link parseUsers}). */
export const USER_SETTINGS = {
  KOINE_ACCESS_KEY: Setting.text(DEFAULT_ACCESS_KEY, "Access key of the first S3 user"),
  KOINE_SECRET_KEY: Setting.text(DEFAULT_SECRET_KEY, "Its secret key"),
  KOINE_S3_USERS: Setting.text("", "More S3 users seeded at start-up: ak:sk,ak2:sk2"),
};

/**
 * The users to seed at start-up: KOINE_ACCESS_KEY / KOINE_SECRET_KEY (default
 * koine / koinesecret) and every "ak:sk" of KOINE_S3_USERS ("ak:sk,ak2:sk2").
 */
export function parseUsers(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const accessKey = env.KOINE_ACCESS_KEY ?? DEFAULT_ACCESS_KEY;
  const secretKey = env.KOINE_SECRET_KEY ?? DEFAULT_SECRET_KEY;
  if (!accessKey || !secretKey) throw new Error("KOINE_ACCESS_KEY and KOINE_SECRET_KEY must not be empty");
  const users = new Map([[accessKey, secretKey]]);
  for (const pair of (env.KOINE_S3_USERS ?? "").split(",").filter((p) => p.trim() !== "")) {
    const colon = pair.indexOf(":");
    const ak = pair.slice(0, colon).trim();
    const sk = pair.slice(colon + 1).trim();
    if (colon <= 0 || !/^[A-Za-z0-9._-]{3,128}$/.test(ak) || sk.length < 8) {
      throw new Error(`KOINE_S3_USERS must be "accessKey:secretKey,..." (keys of 3+ letters, digits, . _ -; secrets of 8+), not "${pair}"`);
    }
    users.set(ak, sk);
  }
  return users;
}

/**
 * How a start-up banner speaks of the seeded credentials: the access key and
 * whether it is the default pair, never the secret.
 */
export function describeCredentials(credentials: ReadonlyMap<string, string>): string {
  const [accessKey, secretKey] = [...credentials][0] ?? ["", ""];
  return accessKey === DEFAULT_ACCESS_KEY && secretKey === DEFAULT_SECRET_KEY
    ? `access key ${accessKey}: the default credentials (see the README); set KOINE_ACCESS_KEY and KOINE_SECRET_KEY to your own`
    : `access key ${accessKey} (its secret is the KOINE_SECRET_KEY you set)`;
}
