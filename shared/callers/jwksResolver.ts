// Resolves a caller token's signing key from one issuer's JWKS URL (from configuration, never from
// the token). jose's remote set caches and single-flights fetches; this wrapper adds stale-if-error:
// when the JWKS endpoint is down past jose's cache age, known keys keep verifying (perf §2.7, §4.2 E7).
// While the endpoint fails, it is asked again only after a pause, with or without a set to fall back on,
// and its answer is read to a cap.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  errors,
  type FetchImplementation,
  type JWKSCacheInput,
  type JWTVerifyGetKey,
  jwksCache,
} from 'jose';
import type { Clock } from '../clock.js';
import { readCapped } from '../peerAnswer.js';
import type { KeyGetter } from './verifiedTokenCache.js';

export interface JwksResolverOptions {
  /** Age after which jose refetches the set, in milliseconds. */
  cacheMaxAgeMs: number;
  /** Minimum time between refetches for an unknown `kid`, in milliseconds. */
  cooldownMs: number;
  /** Fetch timeout, in milliseconds. */
  timeoutMs: number;
  /** How long the last good set keeps verifying while the endpoint fails, in milliseconds. */
  staleMaxAgeMs: number;
  clock: Clock;
}

/** The JWKS endpoint could not be read and no recent enough copy exists: a peer fault, retryable. */
export class JwksUnavailableError extends Error {
  constructor(options: ErrorOptions) {
    super('the signing keys could not be fetched', options);
    this.name = 'JwksUnavailableError';
  }
}

const isFetchFailure = (error: unknown): boolean =>
  error instanceof errors.JWKSTimeout ||
  error instanceof errors.JWKSInvalid ||
  (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC') ||
  (error instanceof TypeError && error.message === 'fetch failed');

/** An issuer's key set is a few KiB with a handful of keys; one past these is refused, not parsed. */
export const JWKS_LIMITS = { bytes: 256 * 1024, keys: 100 } as const;

/** Without a set to fall back on, a failed endpoint is asked again after this pause at most. */
const NO_SET_RETRY_MS = 5_000;

/**
 * jose's fetch with a cap: jose reads the answer whole (`response.json()`), and every key of a set is
 * looked through on each verification. A 200 within the limits is handed to jose as read; any other
 * status is handed over unread, for jose to refuse.
 */
const cappedFetch: FetchImplementation = async (url, init) => {
  const response = await fetch(url, init);
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    return response;
  }
  const text = await readCapped(response, JWKS_LIMITS.bytes);
  if (text === undefined)
    throw new errors.JWKSInvalid(`the JSON Web Key Set is larger than ${JWKS_LIMITS.bytes} bytes`);
  let keys: unknown;
  try {
    keys = (JSON.parse(text) as { keys?: unknown } | null)?.keys;
  } catch {
    keys = undefined; // jose reports the JSON itself
  }
  if (Array.isArray(keys) && keys.length > JWKS_LIMITS.keys)
    throw new errors.JWKSInvalid(`the JSON Web Key Set has more than ${JWKS_LIMITS.keys} keys`);
  return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
};

/** A jose key resolver for one JWKS URL, with stale-if-error and a retry backoff during outages. */
export function createJwksResolver(jwksUrl: URL, options: JwksResolverOptions): KeyGetter {
  // jose writes each successfully fetched set and its fetch time here.
  const fetched: Partial<ExportedJWKSCache> = {};
  const remote = createRemoteJWKSet(jwksUrl, {
    cacheMaxAge: options.cacheMaxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.timeoutMs,
    [jwksCache]: fetched as JWKSCacheInput,
    [customFetch]: cappedFetch,
  });
  let lastGood: { fetchedAt: number; resolve: JWTVerifyGetKey } | undefined;
  /** After a failed fetch: no fetch before this time. */
  let retryAt = 0;
  let lastFailure: unknown;

  /** The last successfully fetched set, rebuilt only when jose fetched a new one. */
  const lastGoodSet = () => {
    if (fetched.jwks && fetched.uat !== undefined && lastGood?.fetchedAt !== fetched.uat) {
      lastGood = { fetchedAt: fetched.uat, resolve: createLocalJWKSet(fetched.jwks) };
    }
    return lastGood;
  };

  /** The last good set while it is young enough to stand in for the endpoint. */
  const usable = (now: number) => {
    const set = lastGoodSet();
    return set && now - set.fetchedAt <= options.staleMaxAgeMs ? set : undefined;
  };

  /**
   * The set jose holds, while the resolver answers from it as it is: no failure window, and younger than
   * the cache age (by Date.now(), as jose times it). A new fetch stores a new object.
   */
  const currentSet = (): object | undefined => {
    if (options.clock.now() < retryAt) return undefined;
    const { jwks, uat } = fetched;
    return jwks !== undefined && uat !== undefined && Date.now() < uat + options.cacheMaxAgeMs
      ? jwks
      : undefined;
  };

  const resolve: JWTVerifyGetKey = async (header, token) => {
    const now = options.clock.now();
    if (now < retryAt) {
      // The endpoint failed a moment ago: it is not asked again, whatever the caller sends.
      const stale = usable(now);
      if (stale) return stale.resolve(header, token);
      throw new JwksUnavailableError({ cause: lastFailure });
    }
    try {
      return await remote(header, token);
    } catch (error) {
      if (!isFetchFailure(error)) throw error;
      lastFailure = error;
      const fallback = usable(now);
      retryAt = now + (fallback ? options.cooldownMs : Math.min(options.cooldownMs, NO_SET_RETRY_MS));
      if (!fallback) throw new JwksUnavailableError({ cause: error });
      return fallback.resolve(header, token);
    }
  };
  return Object.assign(resolve, { currentSet });
}
