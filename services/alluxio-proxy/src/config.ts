import { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CLIENT, DEFAULT_STREAM_IDLE_MS, type StreamLimits } from "@koine/alluxio";
import { countFrom, durationFrom, natsUrlFrom, portFrom } from "@koine/config";
import { parseUsers } from "@koine/frontend";
import { parseDomains } from "@koine/s3";

export interface AlluxioProxyOptions {
  natsUrl: string;
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Users seeded at start-up for the S3 API under /api/v1/s3. */
  credentials: Map<string, string>;
  virtualHostDomains?: string[];
  blockSize?: number;
  /** How long idle streams live, and how many may be open in all and per client. */
  streams?: StreamLimits;
}

export const DEFAULT_PORT = 39999;

/**
 * Options from KOINE_NATS_URL, KOINE_ALLUXIO_PORT, KOINE_ALLUXIO_HOST, the S3 user settings and the
 * stream limits KOINE_ALLUXIO_STREAM_IDLE, KOINE_ALLUXIO_MAX_STREAMS, KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): AlluxioProxyOptions {
  return {
    natsUrl: natsUrlFrom(env),
    host: env.KOINE_ALLUXIO_HOST ?? "0.0.0.0",
    port: portFrom(env, "KOINE_ALLUXIO_PORT", DEFAULT_PORT),
    credentials: parseUsers(env),
    virtualHostDomains: parseDomains(env),
    streams: {
      idleMs: durationFrom(env, "KOINE_ALLUXIO_STREAM_IDLE", DEFAULT_STREAM_IDLE_MS),
      maxStreams: countFrom(env, "KOINE_ALLUXIO_MAX_STREAMS", DEFAULT_MAX_STREAMS),
      maxStreamsPerClient: countFrom(env, "KOINE_ALLUXIO_MAX_STREAMS_PER_CLIENT", DEFAULT_MAX_STREAMS_PER_CLIENT),
    },
  };
}
