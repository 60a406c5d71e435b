/** Domains for virtual-hosted-style requests: KOINE_S3_DOMAINS ("s3.example.com,localhost"), default localhost. */
export function parseDomains(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.KOINE_S3_DOMAINS ?? "localhost")
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean);
}
