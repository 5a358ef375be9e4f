// Outages on a simulated clock (issue 10), against the Entra stand-in in process with its fault injection
// on the same clock: the broker's Entra client, cache and refresh timer as production wires them, a
// caller request every few seconds, the timer every 5 minutes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntraClient, type EntraToken } from '../../../shared/exchange/entraClient.js';
import type { ExchangeDependencies } from '../../../shared/exchange/exchangeToken.js';
import { RecentTargets, refreshTokens } from '../../../shared/exchange/refreshTokens.js';
import { targetToken } from '../../../shared/exchange/targetToken.js';
import { TokenCache } from '../../../shared/exchange/tokenCache.js';
import { compilePolicy, type Target } from '../../../shared/policy.js';
import {
  API_V2,
  CALLER,
  type EntraFixture,
  startEntraFixture,
  TENANT,
} from '../../sandbox/entra/standInFixture.js';

const SCOPE = `${API_V2.uri}/.default`;
const MINUTE = 60_000;
const PERIOD = 5 * MINUTE;
const MARGIN = 5 * MINUTE;
const log = { info: () => {}, warn: () => {}, error: () => {} };

let fixture: EntraFixture;
beforeAll(async () => {
  fixture = await startEntraFixture({ tokenLifetimeSeconds: 3600 });
});
afterAll(async () => {
  await fixture?.close();
});

/** The broker's token path on the fixture's clock; `upstream` counts what reached the stand-in. */
function broker() {
  const { clock, standIn } = fixture;
  let upstream = 0;
  const policy = compilePolicy({
    version: 1,
    targets: {
      api: { tenant: TENANT.id, clientId: CALLER.appId, scopes: [SCOPE], source: 'gcpMetadata', warm: true },
    },
    rules: [],
  });
  const deps = {
    policy,
    sources: new Map([
      [
        'gcpMetadata',
        {
          name: 'gcpMetadata',
          getAssertion: async () => ({
            token: await fixture.assertion(),
            expiresAtMs: clock.now() + 600_000,
            issuer: 'https://issuer.workload.test',
            subject: CALLER.subject,
          }),
        },
      ],
    ]),
    entra: createEntraClient({
      authorityHost: 'https://login.stand-in.test',
      timeoutMs: 5000,
      retryAfterMaxSeconds: 3600,
      clock,
      fetch: (async (url: string, init: RequestInit) => {
        upstream++;
        const { pathname } = new URL(url);
        return standIn.app.request(pathname, init);
      }) as typeof fetch,
    }),
    cache: new TokenCache<EntraToken>({
      clock,
      refreshBeforeMs: MARGIN,
      minRemainingMs: MINUTE,
      maxEntries: 100,
      random: () => 0.5,
    }),
    recent: new RecentTargets(clock),
    clock,
    tokenExchangeAudience: 'api://AzureADTokenExchange',
  } as unknown as ExchangeDependencies;
  const target = policy.targets.get('api') as Target;
  return {
    deps,
    upstream: () => upstream,
    /** What a caller's exchange does once the policy admitted it. */
    async request(): Promise<'ok' | 'failed'> {
      const { key, fetcher, reportRefreshFailure } = targetToken(deps, target, SCOPE, log, MARGIN);
      try {
        const { token } = await deps.cache.get(key, fetcher, reportRefreshFailure);
        return token.expiresAtMs - MINUTE > clock.now() ? 'ok' : 'failed';
      } catch {
        return 'failed';
      }
    },
    circuit: () => deps.cache.circuit(targetToken(deps, target, SCOPE, log, MARGIN).key),
    timer: () => refreshTokens(deps, log, { horizonMs: MARGIN + PERIOD, recentWindowMs: 60 * MINUTE }),
    token: async () =>
      (
        await deps.cache.get(targetToken(deps, target, SCOPE, log, MARGIN).key, async () => {
          throw new Error('no token');
        })
      ).token,
  };
}

async function fault(spec: Record<string, unknown>) {
  const response = await fixture.standIn.app.request('/admin/faults', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: TENANT.id, clientId: CALLER.appId, ...spec }),
  });
  expect(response.status).toBe(201);
}

const at = (ms: number) => new Date(ms).toISOString();

describe('outages on a simulated clock', () => {
  it('serves a warm target through a 5-minute Entra outage that covers its refresh, and refreshes after it', async () => {
    const b = broker();
    const { clock } = fixture;
    await b.timer();
    const first = await b.token();
    // Entra answers 503 for five minutes, starting when the timer would first refresh the token.
    const outageFrom = first.expiresAtMs - MARGIN - PERIOD;
    await fault({ status: 503, from: at(outageFrom), until: at(outageFrom + 5 * MINUTE) });

    const outcomes: string[] = [];
    const circuits = new Set<string>();
    let upstreamDuringOutage = 0;
    for (let step = 1; clock.now() < first.expiresAtMs + 30 * MINUTE; step++) {
      clock.advance(10);
      const before = b.upstream();
      if ((step * 10_000) % PERIOD === 0) await b.timer();
      outcomes.push(await b.request());
      circuits.add(b.circuit());
      if (clock.now() >= outageFrom && clock.now() < outageFrom + 5 * MINUTE)
        upstreamDuringOutage += b.upstream() - before;
    }

    expect(outcomes.filter((outcome) => outcome === 'failed')).toEqual([]);
    // The circuit opened on the failures, probed when each pause ended, and closed again.
    expect([...circuits].sort()).toEqual(['closed', 'half_open', 'open']);
    expect(b.circuit()).toBe('closed');
    expect(outcomes.length).toBeGreaterThan(500);
    // Retried with backoff during the outage, not on every request (30 requests fell in it).
    expect(upstreamDuringOutage).toBeGreaterThan(0);
    expect(upstreamDuringOutage).toBeLessThanOrEqual(10);
    // Recovered by itself: the token in use now was issued after the outage.
    expect((await b.token()).expiresAtMs).toBeGreaterThan(outageFrom + 5 * MINUTE + 50 * MINUTE);
  }, 60_000);

  it('keeps its calls during a 429 storm within what Retry-After allows, and recovers when it ends', async () => {
    const b = broker();
    const { clock } = fixture;
    const stormFrom = clock.now();
    const stormMs = 10 * MINUTE;
    await fault({ status: 429, retryAfterSeconds: 30, from: at(stormFrom), until: at(stormFrom + stormMs) });

    const outcomes: Array<{ at: number; outcome: string }> = [];
    while (clock.now() < stormFrom + stormMs + 2 * MINUTE) {
      clock.advance(1);
      outcomes.push({ at: clock.now(), outcome: await b.request() });
    }

    // One call per Retry-After at most: 10 minutes / 30 s, plus the first.
    const during = outcomes.filter((item) => item.at < stormFrom + stormMs);
    expect(during.every((item) => item.outcome === 'failed')).toBe(true);
    expect(b.upstream()).toBeLessThanOrEqual(stormMs / 30_000 + 2);
    expect(b.upstream()).toBeGreaterThanOrEqual(stormMs / 30_000 - 1);
    const firstServed = outcomes.find((item) => item.outcome === 'ok');
    expect(firstServed?.at).toBeGreaterThanOrEqual(stormFrom + stormMs);
    expect(firstServed?.at).toBeLessThanOrEqual(stormFrom + stormMs + 30_000);
    expect(
      outcomes.filter((item) => item.at > (firstServed?.at ?? 0)).every((item) => item.outcome === 'ok'),
    ).toBe(true);
  }, 60_000);
});
