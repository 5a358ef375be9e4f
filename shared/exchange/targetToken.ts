// How the broker obtains one target's Entra token for one scope: its own platform assertion from the
// target's source, exchanged at Entra (client credentials + client assertion). Shared by a caller's
// exchange and the refresh timer, so both fill the same cache entry the same way.
import { performance } from 'node:perf_hooks';
import { BrokerError } from '../errors.js';
import { type LogTarget, logEvent } from '../log.js';
import type { Target } from '../policy.js';
import type { TokenSource } from '../sources/tokenSource.js';
import { inSpan, telemetry } from '../telemetry.js';
import { type EntraClient, EntraError, type EntraToken } from './entraClient.js';
import type { SharedTier } from './sharedTier.js';
import { TokenCache } from './tokenCache.js';
import { type ExchangeContext, mapUpstreamError } from './upstreamErrors.js';

// A policy's targets live as long as the process and have a few scopes each: their keys are built once.
const keysByTarget = new WeakMap<Target, Map<string, string>>();

/** The cache key of a target's token for a scope: the one place that says what a token is shared by. */
export function targetCacheKey(target: Target, scope: string): string {
  let keys = keysByTarget.get(target);
  if (!keys) {
    keys = new Map();
    keysByTarget.set(target, keys);
  }
  let key = keys.get(scope);
  if (key === undefined) {
    key = TokenCache.key(target.tenant, target.clientId, scope);
    // Scopes are the policy's (a caller's other scopes are refused before this), but the map stays bounded.
    if (keys.size < 64) keys.set(scope, key);
  }
  return key;
}

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
  const fromEntra = (): Promise<EntraToken> =>
    inSpan('broker.entra_token', { 'broker.target': target.name }, async (span) => {
      const assertion = await source.getAssertion();
      const started = performance.now();
      try {
        const token = await deps.entra.requestToken({
          tenant: target.tenant,
          clientId: target.clientId,
          scope,
          assertion: assertion.token,
        });
        telemetry.entraCall('issued', undefined, performance.now() - started);
        return token;
      } catch (error) {
        if (error instanceof EntraError) {
          error.assertionIdentity = { issuer: assertion.issuer, subject: assertion.subject };
          telemetry.entraCall(error.kind, error.aadsts, performance.now() - started);
          span.setAttributes({
            'broker.entra_failure': error.kind,
            ...(error.aadsts === undefined ? {} : { 'broker.aadsts': error.aadsts }),
          });
        }
        throw error;
      }
    });
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
