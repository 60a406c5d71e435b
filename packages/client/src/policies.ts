import { createHash } from "node:crypto";
import { followKv, type KV, type NatsConnection, openKv, whenJetStreamReady } from "@koine/bus";
import {
  compilePattern,
  isWithin,
  JobSchemas,
  type PathPattern,
  POLICIES_BUCKET,
  type Policy,
  type PolicyKind,
  type Priority,
} from "@koine/protocol";
import { TypeCompiler } from "@sinclair/typebox/compiler";

const PolicyCheck = TypeCompiler.Compile(JobSchemas.Policy);

/**
 * The cache policies, kept current from their KV bucket: every cache node
 * enforces quota, TTL and priority from it, every client the cache filters,
 * and the admin API changes it.
 */
export class Policies {
  readonly #kv: KV;
  readonly #byKey = new Map<string, Policy>();
  readonly #listeners = new Set<() => void>();
  /** The cache filters with their patterns compiled, in path order, and the default rule: asked on every read and stat. */
  #filters: { policy: Policy; pattern: PathPattern }[] = [];
  #defaultFilter: Policy | undefined;
  #stopWatch: (() => void) | undefined;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  static async open(nc: NatsConnection): Promise<Policies> {
    const table = new Policies(await openKv(nc, POLICIES_BUCKET, { history: 1 }));
    table.#stopWatch = await followKv(table.#kv, (e) => {
      if (e.operation === "PUT") table.#accept(e.key, () => e.json());
      else table.#drop(e.key);
      for (const listener of table.#listeners) listener();
    });
    return table;
  }

  #accept(key: string, decode: () => unknown): void {
    try {
      const value = decode();
      if (PolicyCheck.Check(value)) this.#set(key, value);
    } catch {
      // a malformed entry is no policy
    }
  }

  close(): void {
    this.#stopWatch?.();
  }

  /** Calls `listener` after every change. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  static keyOf(kind: PolicyKind, path: string): string {
    return `${kind}.${createHash("sha256").update(path).digest("hex").slice(0, 32)}`;
  }

  list(kind?: PolicyKind): Policy[] {
    return [...this.#byKey.values()].filter((p) => !kind || p.kind === kind).sort((a, b) => a.path.localeCompare(b.path));
  }

  async put(policy: Policy): Promise<void> {
    const key = Policies.keyOf(policy.kind, policy.path);
    await whenJetStreamReady(() => this.#kv.put(key, JSON.stringify(policy)));
    this.#set(key, policy);
  }

  /** Removes a policy; false when there was none. */
  async remove(kind: PolicyKind, path: string): Promise<boolean> {
    const key = Policies.keyOf(kind, path);
    if (!this.#byKey.has(key)) return false;
    await whenJetStreamReady(() => this.#kv.delete(key));
    this.#drop(key);
    return true;
  }

  /** The most specific policy of `kind` covering `path`. */
  #covering(kind: "quota" | "ttl" | "priority", path: string): Policy | undefined {
    let best: Policy | undefined;
    for (const p of this.#byKey.values()) {
      if (p.kind === kind && isWithin(path, p.path) && (!best || p.path.length > best.path.length)) best = p;
    }
    return best;
  }

  quotaFor(path: string): Policy | undefined {
    return this.#covering("quota", path);
  }

  ttlMsFor(path: string): number | undefined {
    return this.#covering("ttl", path)?.ttlMs;
  }

  priorityFor(path: string): Priority {
    return this.#covering("priority", path)?.priority ?? "MEDIUM";
  }

  /** The cache filter of `path`: the first rule whose pattern matches, else the default rule (pattern ""), else none. */
  filterFor(path: string): Policy | undefined {
    return this.#filters.find((f) => f.pattern.test(path))?.policy ?? this.#defaultFilter;
  }

  #set(key: string, policy: Policy): void {
    this.#byKey.set(key, policy);
    if (policy.kind === "cacheFilter") this.#compileFilters();
  }

  #drop(key: string): void {
    const policy = this.#byKey.get(key);
    this.#byKey.delete(key);
    if (policy?.kind === "cacheFilter") this.#compileFilters();
  }

  #compileFilters(): void {
    const rules = this.list("cacheFilter");
    this.#defaultFilter = rules.find((p) => p.path === "");
    this.#filters = rules.flatMap((policy) => {
      if (policy.path === "") return [];
      try {
        return [{ policy, pattern: compilePattern(policy.path, "A cache filter's pattern") }];
      } catch {
        return []; // checked when added
      }
    });
  }
}
