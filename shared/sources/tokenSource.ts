// A source of the broker's own platform token (audience api://AzureADTokenExchange), the assertion
// Entra checks against a federated identity credential (broker.md, step 3), and what every source
// shares: its cache and the reading of the JWT it obtained.
import { decodeJwt } from 'jose';
import type { Clock } from '../clock.js';
import { TokenCache } from '../exchange/tokenCache.js';

/** The broker's own assertion with the identity Entra will match it by. */
export interface SourceAssertion {
  /** The JWT itself: never logged, never in an error. */
  token: string;
  /** `exp` in ms since the epoch. */
  expiresAtMs: number;
  /** `iss` and `sub`: what a federated identity credential must name to trust this broker. */
  issuer: string;
  subject: string;
}

export interface TokenSource {
  readonly name: string;
  /** Returns a fresh-enough assertion; throws SourceError when the platform cannot provide one. */
  getAssertion(): Promise<SourceAssertion>;
}

/** The platform did not provide a token: a peer fault, retryable. The cause names no token. */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    /** Why, in words that name no URL and no token. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`token source ${source}: ${reason}`, options);
    this.name = 'SourceError';
  }
}

/**
 * The cache every source fetches through: one fetch at a time; a token is served until 60 s before its
 * expiry and refreshed in the background from `refreshBeforeMs` (5 min unless told) before; a failure
 * pauses further fetches.
 */
export function createSourceCache(
  clock: Clock,
  timing: { refreshBeforeMs?: number } = {},
): TokenCache<SourceAssertion> {
  return new TokenCache<SourceAssertion>({
    clock,
    refreshBeforeMs: timing.refreshBeforeMs ?? 5 * 60_000,
    minRemainingMs: 60_000,
    maxEntries: 1,
  });
}

/** Reads `exp`, `iss` and `sub` of a token a platform returned; nothing about it is verified here. */
export function assertionFromJwt(source: string, token: string): SourceAssertion {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch (error) {
    throw new SourceError(source, 'the platform returned something that is not a JWT', { cause: error });
  }
  if (typeof claims.exp !== 'number' || typeof claims.iss !== 'string' || typeof claims.sub !== 'string') {
    throw new SourceError(source, 'the token lacks exp, iss or sub');
  }
  return { token, expiresAtMs: claims.exp * 1000, issuer: claims.iss, subject: claims.sub };
}
