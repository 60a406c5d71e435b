import { createHash } from "node:crypto";
import type { FileInfo } from "@koine/protocol";
import { crc32c } from "@node-rs/crc32";
import { AisError } from "./errors.ts";
import { XxHash } from "./hrw.ts";

/** Where a bucket's properties set through AIS are kept: a user-metadata entry of its directory (JSON). */
const PROPS_KEY = "ais-bprops";
/** Where an object's AIS checksum is kept, by type: `ais-<type>` among its checksums (hex). */
const CHECKSUM_PREFIX = "ais-";

export const CHECKSUM_TYPES = ["none", "xxhash", "xxhash2", "md5", "crc32c", "sha256", "sha512"] as const;
export type ChecksumType = (typeof CHECKSUM_TYPES)[number];

/** AIS's default for a new bucket (cespare's XXH64). */
export const DEFAULT_CHECKSUM: ChecksumType = "xxhash2";

type Props = Record<string, unknown>;

function isObject(v: unknown): v is Props {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `patch` laid over `base`, objects merged key by key. */
export function merged(base: Props, patch: Props): Props {
  const out: Props = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = isObject(v) && isObject(out[k]) ? merged(out[k] as Props, v) : v;
  return out;
}

/** The properties set on a bucket (not the defaults). */
export function setPropsOf(bucket: FileInfo): Props {
  try {
    const parsed = JSON.parse(bucket.userMeta[PROPS_KEY] ?? "{}") as unknown;
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** A bucket's user metadata with `props` as its set properties (checked first). */
export function withProps(bucket: FileInfo, props: Props): Record<string, string> {
  const checksum = (props.checksum as Props | undefined)?.type;
  if (checksum !== undefined && !CHECKSUM_TYPES.includes(checksum as ChecksumType)) {
    throw new AisError(400, `invalid checksum type "${String(checksum)}" (expecting one of ${CHECKSUM_TYPES.join(", ")})`);
  }
  const { [PROPS_KEY]: _old, ...rest } = bucket.userMeta;
  return Object.keys(props).length === 0 ? rest : { ...rest, [PROPS_KEY]: JSON.stringify(props) };
}

/** A bucket's properties as AIS reports them (`Ais-Bucket-Props`): the defaults, then what was set. */
export function bucketProps(bucket: FileInfo, provider = "ais"): Props {
  const defaults: Props = {
    provider,
    checksum: {
      type: DEFAULT_CHECKSUM,
      validate_cold_get: false,
      validate_warm_get: false,
      validate_obj_move: false,
      enable_read_range: false,
    },
    versioning: { enabled: true, validate_warm_get: false, synchronize: false },
    mirror: { copies: 1, burst_buffer: 128, enabled: false },
    ec: { objsize_limit: 262144, data_slices: 1, parity_slices: 1, enabled: false },
    lru: { dont_evict_time: "2h", capacity_upd_time: "10m", enabled: true },
    write_policy: { data: "", md: "" },
    access: "0",
    features: "0",
    bid: String(bucket.id),
    created: String(Math.round(bucket.createdMs * 1e6)),
  };
  return { ...merged(defaults, setPropsOf(bucket)), provider, bid: defaults.bid, created: defaults.created };
}

export function checksumTypeOf(bucket: FileInfo): ChecksumType {
  const type = (setPropsOf(bucket).checksum as Props | undefined)?.type;
  return CHECKSUM_TYPES.includes(type as ChecksumType) ? (type as ChecksumType) : DEFAULT_CHECKSUM;
}

/** A running checksum of one of AIS's types (none: undefined). */
export interface Checksummer {
  update(chunk: Uint8Array): void;
  hex(): string;
}

export function checksummer(type: string): Checksummer | undefined {
  switch (type) {
    case "none":
    case "":
      return undefined;
    case "xxhash":
    case "xxhash2":
      return new XxHash();
    case "md5":
    case "sha256":
    case "sha512": {
      const hash = createHash(type);
      return { update: (chunk) => hash.update(chunk), hex: () => hash.digest("hex") };
    }
    case "crc32c": {
      let crc = 0;
      return {
        update: (chunk) => {
          crc = crc32c(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), crc);
        },
        hex: () => crc.toString(16).padStart(8, "0"),
      };
    }
    default:
      throw new AisError(400, `invalid checksum type "${type}"`);
  }
}

/** The checksums entry keeping an object's AIS checksum. */
export function checksumEntry(type: string, hex: string): Record<string, string> {
  return { [`${CHECKSUM_PREFIX}${type}`]: hex };
}

/** An object's AIS checksum: its type and value, when it has one. */
export function checksumOf(info: FileInfo): { type: string; value: string } | undefined {
  for (const [key, value] of Object.entries(info.checksums ?? {})) {
    if (key.startsWith(CHECKSUM_PREFIX)) return { type: key.slice(CHECKSUM_PREFIX.length), value };
  }
  return undefined;
}
