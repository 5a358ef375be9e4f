// How the broker obtains one target's Entra token for one scope: its own platform assertion from the
// target's source, exchanged at Entra (client credentials + client assertion). Shared by a caller's
// exchange and the refresh timer, so both fill the same cache entry the same way.
import { BrokerError } from '../errors.js';
import { type LogTarget, logEvent } from '../log.js';
import type { Target } from '../policy.js';
import type { TokenSource } from '../sources/tokenSource.js';
import { type EntraClient, EntraError, type EntraToken } from './entraClient.js';
import type { SharedTier } from './sharedTier.js';
import { TokenCache } from './tokenCache.js';
import { type ExchangeContext, mapUpstreamError } from './upstreamErrors.js';

/** The cache key of a target's token for a scope: the one place that says what a token is shared by. */
export const targetCacheKey = (target: Target, scope: string): string =>
  TokenCache.key(target.tenant, target.clientId, scope);

export interface TargetTokenDependencies {
  sources: ReadonlyMap<string, TokenSource>;
  entra: EntraClient;
  shared?: SharedTier;
  /** Audience of the broker's own assertion, for error descriptions. */
  tokenExchangeAudience: string;
}

/**
 * The cache key, the fetcher and the background-failure reporter of one target and scope. With a shared
 * tier, the fetcher takes a token another instance stored when it is good `acceptAfterMs` from now.
 */
export function targetToken(
  deps: TargetTokenDependencies,
  target: Target,
  scope: string,
  log: LogTarget,
  acceptAfterMs: number,
) {
  const source = deps.sources.get(target.source);
  if (!source) throw new Error(`no token source ${target.source} is wired`);
  const context: ExchangeContext = {
    target: target.name,
    tenant: target.tenant,
    clientId: target.clientId,
    scope,
    audience: deps.tokenExchangeAudience,
  };
  const key = targetCacheKey(target, scope);
  const fromEntra = async (): Promise<EntraToken> => {
    const assertion = await source.getAssertion();
    try {
      return await deps.entra.requestToken({
        tenant: target.tenant,
        clientId: target.clientId,
        scope,
        assertion: assertion.token,
      });
    } catch (error) {
      if (error instanceof EntraError)
        error.assertionIdentity = { issuer: assertion.issuer, subject: assertion.subject };
      throw error;
    }
  };
  const shared = deps.shared;
  const fetcher = async (): Promise<EntraToken> => {
    if (!shared) return { ...(await fromEntra()), origin: 'entra' };
    const { token, origin } = await shared.fetch(key, fromEntra, acceptAfterMs, log);
    return { ...token, origin };
  };
  const reportRefreshFailure = (error: unknown) => {
    const mapped = mapUpstreamError(error, context);
    const detail = mapped instanceof BrokerError ? mapped.detail : {};
    logEvent(log, 'warn', 'token.refresh_failed', {
      target: target.name,
      scope,
      reason: String(detail.reason ?? 'unknown'),
      ...(typeof detail.aadsts === 'number' ? { aadsts: detail.aadsts } : {}),
    });
  };
  return {
    key,
    fetcher,
    reportRefreshFailure,
    context,
  };
}
