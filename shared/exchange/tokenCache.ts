// The broker's token cache, used for Entra tokens and for the broker's own platform assertions
// (perf-reliability.md §5.1, §4.2 F): single flight per key, refresh-ahead without making callers
// wait, serve-stale-on-error, a pause after every failure (Retry-After when given, else exponential
// backoff with jitter) during which the last failure is replayed, and a bounded size (LRU).
import type { Clock } from '../clock.js';

/** Anything cached here: a value that stops being usable at `expiresAtMs` (ms since the epoch). */
export interface Expiring {
  expiresAtMs: number;
}

export interface TokenCacheOptions {
  clock: Clock;
  /** Start refreshing this long before expiry, in ms; the cached token is still served meanwhile. */
  refreshBeforeMs: number;
  /** Never hand out a token with less than this left, in ms. */
  minRemainingMs: number;
  maxEntries: number;
  /** First pause after a failure without Retry-After, in ms; doubles per consecutive failure. */
  backoffBaseMs?: number;
  /** Longest pause after a failure without Retry-After, in ms. */
  backoffMaxMs?: number;
  /** Source of jitter in [0, 1); Math.random unless a test pins it. */
  random?: () => number;
}

/** A key is paused after a failure and has no usable token: carries the failure and the time left. */
export class TokenCacheBlockedError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly lastError: unknown,
  ) {
    super(`requests for this key are paused for ${retryAfterSeconds} s after a failure`);
    this.name = 'TokenCacheBlockedError';
  }
}

/** The fetcher returned a token that is already inside the safety margin: unusable. */
export class ShortLivedTokenError extends Error {
  constructor(readonly remainingSeconds: number) {
    super(`the token issued has only ${remainingSeconds} s left`);
    this.name = 'ShortLivedTokenError';
  }
}

export interface TokenCacheResult<T extends Expiring> {
  token: T;
  /** 'hit' served from cache (possibly while a refresh runs), 'miss' waited for the fetcher. */
  from: 'hit' | 'miss';
}

/** Fetches a value; an error with a numeric `retryAfterSeconds` sets the pause for the key. */
export type TokenFetcher<T> = () => Promise<T>;

interface Entry<T> {
  token?: T;
  inFlight?: Promise<T>;
  blockedUntil?: number;
  failures: number;
  lastError?: unknown;
}

export class TokenCache<T extends Expiring> {
  readonly #entries = new Map<string, Entry<T>>();
  /** The key touched last and its entry, which is then the last in `#entries` (most recently used). */
  #last: { key: string; entry: Entry<T> } | undefined;
  readonly #random: () => number;

  constructor(readonly options: TokenCacheOptions) {
    this.#random = options.random ?? Math.random;
  }

  /** Key of an Entra token: the three values Entra issues on, joined unambiguously. */
  static key(tenant: string, clientId: string, scope: string): string {
    return JSON.stringify([tenant.toLowerCase(), clientId.toLowerCase(), scope]);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * A key's circuit. `closed`: its last fetch succeeded (or none failed). `open`: paused after a failure;
   * nothing is fetched and callers without a usable token get the failure replayed. `half_open`: the pause
   * is over but the last fetch failed; the next request is a probe, one at a time (single flight), and its
   * result closes the circuit or opens it again for a longer pause.
   */
  circuit(key: string): 'closed' | 'open' | 'half_open' {
    const entry = this.#entries.get(key);
    if (!entry || entry.failures === 0) return 'closed';
    return entry.blockedUntil !== undefined && entry.blockedUntil > this.options.clock.now()
      ? 'open'
      : 'half_open';
  }

  /** Keys paused after a failure (an open circuit), with that failure: no fetch for them until the pause ends. */
  paused(): Array<{ key: string; error: unknown }> {
    const now = this.options.clock.now();
    return [...this.#entries].flatMap(([key, entry]) =>
      entry.blockedUntil !== undefined && entry.blockedUntil > now ? [{ key, error: entry.lastError }] : [],
    );
  }

  /**
   * The key's token when `get` would answer it at once and start no refresh: usable, and not yet due for
   * refresh. Marked most recently used, as `get` marks it. Undefined otherwise, and then `get` decides.
   * Synchronous, so a caller can skip building a fetcher for the common case.
   */
  ready(key: string): T | undefined {
    const token = (this.#last?.key === key ? this.#last.entry : this.#entries.get(key))?.token;
    if (this.#standing(token, this.options.clock.now()) !== 'fresh') return undefined;
    this.#touch(key);
    return token;
  }

  /** Whether a cached token may be handed out (`fresh` or `due` for a refresh ahead) or not (`unusable`). */
  #standing(token: T | undefined, now: number): 'fresh' | 'due' | 'unusable' {
    if (!token || token.expiresAtMs - this.options.minRemainingMs <= now) return 'unusable';
    return token.expiresAtMs - this.options.refreshBeforeMs <= now ? 'due' : 'fresh';
  }

  /**
   * Returns a usable token for `key`, calling `fetcher` at most once at a time per key.
   * `onBackgroundError` hears about failures of a refresh-ahead nobody waits for.
   */
  async get(
    key: string,
    fetcher: TokenFetcher<T>,
    onBackgroundError?: (error: unknown) => void,
  ): Promise<TokenCacheResult<T>> {
    const now = this.options.clock.now();
    const entry = this.#touch(key);
    const standing = this.#standing(entry.token, now);
    const blocked = entry.blockedUntil !== undefined && entry.blockedUntil > now;

    if (entry.token && standing !== 'unusable') {
      // Refresh ahead in the background; a failure keeps the still-valid token (F3, F4).
      if (standing === 'due' && !blocked)
        this.#start(entry, fetcher).catch((error) => onBackgroundError?.(error));
      return { token: entry.token, from: 'hit' };
    }
    if (blocked && !entry.inFlight) {
      throw new TokenCacheBlockedError(
        Math.ceil(((entry.blockedUntil as number) - now) / 1000),
        entry.lastError,
      );
    }
    return { token: await this.#start(entry, fetcher), from: 'miss' };
  }

  /**
   * Refreshes `key` now when its token expires within `horizonMs` (or there is none), sharing a fetch in
   * flight; `fresh` when it need not, `paused` while a failure pauses the key. Throws what the fetch throws.
   */
  async refresh(
    key: string,
    fetcher: TokenFetcher<T>,
    horizonMs: number,
  ): Promise<'refreshed' | 'fresh' | 'paused'> {
    const now = this.options.clock.now();
    const entry = this.#touch(key);
    if (entry.token && entry.token.expiresAtMs - horizonMs > now) return 'fresh';
    if (entry.blockedUntil !== undefined && entry.blockedUntil > now && !entry.inFlight) return 'paused';
    await this.#start(entry, fetcher);
    return 'refreshed';
  }

  #start(entry: Entry<T>, fetcher: TokenFetcher<T>): Promise<T> {
    if (entry.inFlight) return entry.inFlight;
    // The body runs to its first await synchronously, so `finally` always runs after the assignment below.
    const flight = (async () => {
      try {
        const token = await fetcher();
        const remainingMs = token.expiresAtMs - this.options.clock.now();
        if (remainingMs <= this.options.minRemainingMs)
          throw new ShortLivedTokenError(Math.floor(remainingMs / 1000));
        Object.assign(entry, { token, blockedUntil: undefined, failures: 0, lastError: undefined });
        return token;
      } catch (error) {
        entry.failures++;
        entry.lastError = error;
        entry.blockedUntil = this.options.clock.now() + this.#pauseMs(error, entry.failures);
        throw error;
      } finally {
        entry.inFlight = undefined;
      }
    })();
    entry.inFlight = flight;
    return flight;
  }

  /** Retry-After when the error carries one; else equal-jitter exponential backoff (never below half the step). */
  #pauseMs(error: unknown, failures: number): number {
    const retryAfter = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
    if (typeof retryAfter === 'number') return retryAfter * 1000;
    const step = Math.min(
      this.options.backoffMaxMs ?? 60_000,
      (this.options.backoffBaseMs ?? 1000) * 2 ** (failures - 1),
    );
    return step / 2 + (this.#random() * step) / 2;
  }

  /** Moves `key` to the most-recent end, creating it; evicts the least recently used idle entries past the cap. */
  #touch(key: string): Entry<T> {
    // A key used again before any other is already the most recent (only this method adds, reorders or
    // removes entries, and never the key it touches): most requests ask for one target. Past maxEntries
    // (entries kept for their fetches in flight), the slow path runs to evict.
    const last = this.#last;
    if (last?.key === key && this.#entries.size <= this.options.maxEntries) return last.entry;
    const entry: Entry<T> = this.#entries.get(key) ?? { failures: 0 };
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#last = { key, entry };
    if (this.#entries.size > this.options.maxEntries) {
      // An entry with a fetch in flight stays, or a second fetch for it would start (single flight).
      for (const [candidate, value] of this.#entries) {
        if (this.#entries.size <= this.options.maxEntries) break;
        if (!value.inFlight && candidate !== key) this.#entries.delete(candidate);
      }
    }
    return entry;
  }
}
