// Resolves a caller token's signing key from one issuer's JWKS URL (from configuration, never from
// the token). jose's remote set caches and single-flights fetches; this wrapper adds stale-if-error:
// when the JWKS endpoint is down past jose's cache age, known keys keep verifying (perf §2.7, §4.2 E7).
import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
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
  const remote = createRemoteJWKSet(jwksUrl, {
    cacheMaxAge: options.cacheMaxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.timeoutMs,
  });
  let lastGood: { jwks: object; at: number; resolve: JWTVerifyGetKey } | undefined;
  let retryAt = 0;

  return async (header, token) => {
    const now = options.clock.now();
    if (lastGood && now < retryAt && now - lastGood.at <= options.staleMaxAgeMs) {
      return lastGood.resolve(header, token);
    }
    try {
      const key = await remote(header, token);
      const jwks = remote.jwks();
      if (jwks && jwks !== lastGood?.jwks) lastGood = { jwks, at: now, resolve: createLocalJWKSet(jwks) };
      return key;
    } catch (error) {
      if (!isFetchFailure(error)) throw error;
      if (!lastGood || now - lastGood.at > options.staleMaxAgeMs)
        throw new JwksUnavailableError({ cause: error });
      retryAt = now + options.cooldownMs;
      return lastGood.resolve(header, token);
    }
  };
}
