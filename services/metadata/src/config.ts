import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { homeFrom, natsUrlFrom } from "@koine/config";

export interface MetadataOptions {
  /** NATS server URL(s). */
  natsUrl: string;
  /** Directory of the LMDB files. */
  dataDir: string;
  /** URI of the under-store mounted at "/". */
  rootUfs: string;
}

/** Options from the environment: KOINE_NATS_URL, KOINE_HOME, KOINE_ROOT_UFS. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): MetadataOptions {
  const home = homeFrom(env);
  const rootUfs = env.KOINE_ROOT_UFS ?? pathToFileURL(join(home, "ufs")).href;
  if (!/^[a-z0-9]+:\/\//.test(rootUfs)) throw new Error(`KOINE_ROOT_UFS must be a URI such as file:///data, not "${rootUfs}"`);
  return { natsUrl: natsUrlFrom(env), dataDir: join(home, "metadata"), rootUfs };
}
