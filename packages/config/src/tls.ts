import { readFileSync } from "node:fs";

/** A certificate and its key (PEM) an HTTP endpoint serves TLS with, and the CA its peers' certificates are checked against. */
export interface Tls {
  cert: Buffer;
  key: Buffer;
  /** Trusted for calls to other koine services (cache nodes); absent: the system's CAs. */
  ca?: Buffer;
}

/**
 * TLS from the settings: KOINE_TLS_CERT and KOINE_TLS_KEY (files, both or
 * neither), KOINE_TLS_CA (optional). Undefined when no certificate is set:
 * the endpoints speak plain HTTP.
 */
export function tlsOf(settings: { KOINE_TLS_CERT?: string; KOINE_TLS_KEY?: string; KOINE_TLS_CA?: string }): Tls | undefined {
  const { KOINE_TLS_CERT: cert, KOINE_TLS_KEY: key, KOINE_TLS_CA: ca } = settings;
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error("KOINE_TLS_CERT and KOINE_TLS_KEY go together: set both, or neither");
  const read = (file: string, name: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
    }
  };
  return {
    cert: read(cert, "KOINE_TLS_CERT"),
    key: read(key, "KOINE_TLS_KEY"),
    ...(ca ? { ca: read(ca, "KOINE_TLS_CA") } : {}),
  };
}
