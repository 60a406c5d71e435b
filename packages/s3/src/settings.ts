import { readSettings, Setting } from "@koine/config";
import { Type as T } from "@sinclair/typebox";

/** The S3 dialect's settings a service composing it reads. */
export const DOMAIN_SETTINGS = {
  KOINE_S3_DOMAINS: Setting.list(["localhost"], "Domains of virtual-hosted-style requests (<bucket>.<domain>), comma-separated"),
};

/** Domains for virtual-hosted-style requests: KOINE_S3_DOMAINS ("s3.example.com,localhost"), default localhost. */
export function parseDomains(env: NodeJS.ProcessEnv = process.env): string[] {
  return readSettings(T.Object(DOMAIN_SETTINGS), env).KOINE_S3_DOMAINS;
}
