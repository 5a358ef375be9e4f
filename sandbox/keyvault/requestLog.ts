// What the vault answered, for tests and the launcher (sandbox only): counters per operation and status,
// and the last N requests. Never holds a token or a secret value.

/** One answered request. */
export interface VaultRequestRecord {
  /** ISO 8601 on the stand-in's clock. */
  at: string;
  method: string;
  /** Operation name (`getSecret`...), or `unauthenticated`/`unrouted` when the request got no further. */
  operation: string;
  /** Secret name when the path named one. */
  secretName: string | undefined;
  status: number;
  /** `error.code` of a refusal. */
  code: string | undefined;
  /** Whether the request carried an Authorization header (the SDK's first request does not). */
  hadAuthorization: boolean;
  /** Caller's object id once the token verified. */
  callerObjectId: string | undefined;
  /** Id of the injected fault that answered, if one did. */
  faultId: string | undefined;
}

/** Counters: requests per operation per status, and how many challenges (401 to a request without a token). */
export interface VaultCounters {
  total: number;
  challenges: number;
  byOperation: Record<string, Record<string, number>>;
}

/** The log, bounded to `size` records; counters are unbounded until reset. */
export class RequestLog {
  readonly #records: VaultRequestRecord[] = [];
  readonly #size: number;
  #counters: VaultCounters = { total: 0, challenges: 0, byOperation: {} };

  constructor(size: number) {
    this.#size = size;
  }

  record(entry: VaultRequestRecord): void {
    this.#records.push(entry);
    if (this.#records.length > this.#size) this.#records.shift();
    const counters = this.#counters;
    counters.total += 1;
    if (entry.status === 401 && !entry.hadAuthorization) counters.challenges += 1;
    const byStatus = counters.byOperation[entry.operation] ?? {};
    byStatus[String(entry.status)] = (byStatus[String(entry.status)] ?? 0) + 1;
    counters.byOperation[entry.operation] = byStatus;
  }

  counters(): VaultCounters {
    return structuredClone(this.#counters);
  }

  /** The last `limit` records, oldest first. */
  last(limit: number): VaultRequestRecord[] {
    return limit <= 0 ? [] : this.#records.slice(-limit).map((entry) => ({ ...entry }));
  }

  reset(): void {
    this.#records.length = 0;
    this.#counters = { total: 0, challenges: 0, byOperation: {} };
  }
}
