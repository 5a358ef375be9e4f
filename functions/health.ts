// GET /api/health (alive) and GET /api/ready (configuration and policy loaded, token sources reachable).
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getBroker } from '../shared/broker.js';
import { ConfigError } from '../shared/config.js';
import { EntraError } from '../shared/exchange/entraClient.js';
import { targetCacheKey } from '../shared/exchange/targetToken.js';
import { TokenCacheBlockedError } from '../shared/exchange/tokenCache.js';
import { logEvent, reportFailure } from '../shared/log.js';
import { PolicyError } from '../shared/policy.js';
import { SourceError } from '../shared/sources/tokenSource.js';

const noStore = { 'Cache-Control': 'no-store' };

/** Always 200 while the process is alive; touches no peer. */
export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  logEvent(context, 'info', 'health.checked', { status: 'ok' });
  return { status: 200, headers: noStore, jsonBody: { status: 'ok' } };
}

/**
 * 200 when the broker can serve: config valid, policy loaded, every token source answers, no target's
 * Entra circuit open; else 503 with problem codes. The endpoint is anonymous, so details (variable names, paths) go to the log only.
 */
export async function ready(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const problems: string[] = [];
  let targets = 0;
  const sources: Record<string, 'ok' | 'unavailable'> = {};
  // Storage down is a degradation, not unreadiness: every instance shares the account, so taking them out
  // of rotation for it would turn a slower broker into no broker. The answer says so; callers are served.
  let sharedCache: 'ok' | 'unavailable' | 'off' = 'off';
  try {
    const broker = await getBroker(context);
    targets = broker.exchange.policy.targets.size;
    if (broker.exchange.shared)
      sharedCache = (await broker.exchange.shared.check(context)) ? 'ok' : 'unavailable';
    for (const [name, source] of broker.exchange.sources) {
      try {
        await source.getAssertion();
        sources[name] = 'ok';
      } catch (error) {
        sources[name] = 'unavailable';
        problems.push(`source_unavailable:${name}`);
        // While the source's cache pauses after a failure, the reason is that failure's.
        const cause = error instanceof TokenCacheBlockedError ? error.lastError : error;
        if (cause instanceof SourceError) {
          logEvent(context, 'warn', 'source.unavailable', { source: name, reason: cause.reason });
        } else reportFailure(context, 'ready', cause);
      }
    }
    // A target whose key is paused after an Entra failure has an open circuit. The anonymous answer says
    // so without naming targets (a caller must learn nothing about targets it may not use, issue 7);
    // the log names them.
    // Only Entra's own failures: a key paused because the broker's source failed is reported above.
    const paused = new Set(
      broker.exchange.cache
        .paused()
        .filter(({ error }) => error instanceof EntraError)
        .map(({ key }) => key),
    );
    const unavailable = [...broker.exchange.policy.targets.values()]
      .filter((target) => target.scopes.some((scope) => paused.has(targetCacheKey(target, scope))))
      .map((target) => target.name);
    if (unavailable.length > 0) {
      problems.push('entra_unavailable');
      logEvent(context, 'warn', 'entra.unavailable', { targets: unavailable });
    }
  } catch (error) {
    problems.push(
      error instanceof ConfigError
        ? 'config_invalid'
        : error instanceof PolicyError
          ? 'policy_invalid'
          : 'startup_failed',
    );
    reportFailure(context, 'ready', error);
  }
  const status = problems.length === 0 ? 'ready' : 'not_ready';
  logEvent(context, problems.length === 0 ? 'info' : 'warn', 'health.checked', { status });
  return {
    status: problems.length === 0 ? 200 : 503,
    headers: noStore,
    jsonBody: {
      status,
      ...(problems.length === 0 ? { targets } : { problems }),
      sources,
      sharedCache,
      ...(sharedCache === 'unavailable' ? { degraded: ['storage_unavailable'] } : {}),
    },
  };
}

app.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: health });
app.http('ready', { route: 'ready', methods: ['GET'], authLevel: 'anonymous', handler: ready });
