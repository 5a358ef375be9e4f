// Resolves a caller token's signing key from one issuer's JWKS URL (from configuration, never from
// the token). jose's remote set caches and single-flights fetches; this wrapper adds stale-if-error:
// when the JWKS endpoint is down past jose's cache age, known keys keep verifying (perf §2.7, §4.2 E7).
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type ExportedJWKSCache,
  errors,
  type JWKSCacheInput,
  type JWTVerifyGetKey,
  jwksCache,
} from 'jose';
import type { Clock } from '../clock.js';

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

/** A jose key resolver for one JWKS URL, with stale-if-error and a retry backoff during outages. */
export function createJwksResolver(jwksUrl: URL, options: JwksResolverOptions): JWTVerifyGetKey {
  // jose writes each successfully fetched set and its fetch time here.
  const fetched: Partial<ExportedJWKSCache> = {};
  const remote = createRemoteJWKSet(jwksUrl, {
    cacheMaxAge: options.cacheMaxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.timeoutMs,
    [jwksCache]: fetched as JWKSCacheInput,
  });
  let lastGood: { fetchedAt: number; resolve: JWTVerifyGetKey } | undefined;
  let retryAt = 0;

  /** The last successfully fetched set, rebuilt only when jose fetched a new one. */
  const lastGoodSet = () => {
    if (fetched.jwks && fetched.uat !== undefined && lastGood?.fetchedAt !== fetched.uat) {
      lastGood = { fetchedAt: fetched.uat, resolve: createLocalJWKSet(fetched.jwks) };
    }
    return lastGood;
  };

  return async (header, token) => {
    const now = options.clock.now();
    const stale = lastGoodSet();
    if (stale && now < retryAt && now - stale.fetchedAt <= options.staleMaxAgeMs)
      return stale.resolve(header, token);
    try {
      return await remote(header, token);
    } catch (error) {
      if (!isFetchFailure(error)) throw error;
      const fallback = lastGoodSet();
      if (!fallback || now - fallback.fetchedAt > options.staleMaxAgeMs)
        throw new JwksUnavailableError({ cause: error });
      retryAt = now + options.cooldownMs;
      return fallback.resolve(header, token);
    }
  };
}
