// Counters of token exchanges per tenant and client, and a ring buffer of the last decisions with their
// AADSTS codes, for tests and the admin API. Holds no token or assertion: only a SHA-256 prefix of one.
import { createHash } from 'node:crypto';

/** Outcome of one token request. */
export type DecisionOutcome = 'issued' | 'refused' | 'fault';

/** One token-endpoint decision as the admin API reports it. */
export interface Decision {
  /** ISO 8601 time on the stand-in's clock. */
  at: string;
  traceId: string;
  endpoint: 'v1' | 'v2';
  /** Tenant GUID when the path named a known tenant, else the path segment as sent. */
  tenant: string;
  clientId: string;
  outcome: DecisionOutcome;
  status: number;
  /** AADSTS code of a refusal (or of a JSON fault body). */
  code?: number;
  error?: string;
  /** Requested scope (v2) or resource (v1). */
  target?: string;
  /** Version of the issued access token. */
  tokenVersion?: 1 | 2;
  /** Unverified claims of the assertion, for debugging FIC mismatches; `sha256` identifies the assertion. */
  assertion?: { iss?: string; sub?: string; aud?: string; sha256: string };
}

/** Exchange counts of one client in one tenant. */
export interface ClientCounters {
  successes: number;
  failures: number;
  faults: number;
}

/** First 16 hex digits of the SHA-256 of a token or assertion: identifies it without revealing it. */
export function sha256Prefix(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/** Counters and the decision ring buffer. */
export class DecisionLog {
  readonly #size: number;
  readonly #decisions: Decision[] = [];
  readonly #counters = new Map<string, Map<string, ClientCounters>>();

  /** @param size decisions kept; older ones are dropped. */
  constructor(size: number) {
    this.#size = size;
  }

  record(decision: Decision): void {
    this.#decisions.push(decision);
    if (this.#decisions.length > this.#size) this.#decisions.splice(0, this.#decisions.length - this.#size);
    const clients = this.#counters.get(decision.tenant) ?? new Map<string, ClientCounters>();
    this.#counters.set(decision.tenant, clients);
    const key = decision.clientId || '(none)';
    const counters = clients.get(key) ?? { successes: 0, failures: 0, faults: 0 };
    clients.set(key, counters);
    if (decision.outcome === 'issued') counters.successes += 1;
    else if (decision.outcome === 'refused') counters.failures += 1;
    else counters.faults += 1;
  }

  /** The last `limit` decisions, oldest first. */
  last(limit = this.#size): Decision[] {
    return this.#decisions.slice(-Math.max(0, limit)).map((decision) => ({ ...decision }));
  }

  /** `{ [tenant]: { [clientId]: {successes, failures, faults} } }`. */
  counters(): Record<string, Record<string, ClientCounters>> {
    const result: Record<string, Record<string, ClientCounters>> = {};
    for (const [tenant, clients] of this.#counters) {
      result[tenant] = Object.fromEntries(
        [...clients].map(([client, counters]) => [client, { ...counters }]),
      );
    }
    return result;
  }

  reset(): void {
    this.#decisions.length = 0;
    this.#counters.clear();
  }
}
