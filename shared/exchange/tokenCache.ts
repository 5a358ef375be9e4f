// The broker's token cache, used for Entra tokens and for the broker's own platform assertions (perf-reliability.md §5.1, §4.2 F): one entry per tenant + client +
// scope, single-flight per key, refresh-ahead without making callers wait, serve-stale-on-error,
// Retry-After honoured per key, and a bounded size with least-recently-used eviction.
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
}

/** No usable token and Entra's Retry-After has not passed: the caller gets 503 with what is left of it. */
export class TokenCacheBlockedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`token requests for this key are paused for ${retryAfterSeconds} s, as Entra's Retry-After asked`);
    this.name = 'TokenCacheBlockedError';
  }
}

export interface TokenCacheResult<T extends Expiring> {
  token: T;
  /** 'hit' served from cache (possibly while a refresh runs), 'miss' waited for Entra. */
  from: 'hit' | 'miss';
}

interface Entry<T> {
  token?: T;
  inFlight?: Promise<T>;
  blockedUntil?: number;
}

/** Fetches a token; the error may carry `retryAfterSeconds` to pause this key. */
export type TokenFetcher<T> = () => Promise<T>;

export class TokenCache<T extends Expiring> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(readonly options: TokenCacheOptions) {}

  /** Key of an Entra token: the three values Entra issues on, joined unambiguously. */
  static key(tenant: string, clientId: string, scope: string): string {
    return JSON.stringify([tenant.toLowerCase(), clientId.toLowerCase(), scope]);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Returns a usable token for `key`, calling `fetcher` at most once at a time per key. */
  async get(key: string, fetcher: TokenFetcher<T>): Promise<TokenCacheResult<T>> {
    const now = this.options.clock.now();
    const entry = this.#touch(key);
    const usable =
      entry.token && entry.token.expiresAtMs - this.options.minRemainingMs > now ? entry.token : undefined;
    const blocked = entry.blockedUntil !== undefined && entry.blockedUntil > now;

    if (usable) {
      const dueForRefresh = usable.expiresAtMs - this.options.refreshBeforeMs <= now;
      // Refresh ahead in the background; a failure keeps the still-valid token (F3, F4).
      if (dueForRefresh && !blocked) this.#start(key, entry, fetcher).catch(() => undefined);
      return { token: usable, from: 'hit' };
    }
    if (blocked && !entry.inFlight) {
      throw new TokenCacheBlockedError(Math.ceil(((entry.blockedUntil as number) - now) / 1000));
    }
    return { token: await this.#start(key, entry, fetcher), from: 'miss' };
  }

  #start(key: string, entry: Entry<T>, fetcher: TokenFetcher<T>): Promise<T> {
    if (entry.inFlight) return entry.inFlight;
    // The body runs to its first await synchronously, so `finally` always runs after the assignment below.
    const flight = (async () => {
      try {
        const token = await fetcher();
        entry.token = token;
        entry.blockedUntil = undefined;
        return token;
      } catch (error) {
        const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
        if (typeof retryAfter === 'number') entry.blockedUntil = this.options.clock.now() + retryAfter * 1000;
        throw error;
      } finally {
        entry.inFlight = undefined;
        const empty = !entry.token && entry.blockedUntil === undefined;
        if (empty && this.#entries.get(key) === entry) this.#entries.delete(key);
      }
    })();
    entry.inFlight = flight;
    return flight;
  }

  /** Moves `key` to the most-recent end, creating it, and evicts the least recently used past the cap. */
  #touch(key: string): Entry<T> {
    const entry: Entry<T> = this.#entries.get(key) ?? {};
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.options.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return entry;
  }
}
