// The refresh run: warm targets' every scope and recently used pairs are refreshed when their token
// would enter the margin before the next run; fresh ones are skipped; a failure is reported by target.
import { describe, expect, it } from 'vitest';
import { refreshSchedule } from '../../../shared/config.js';
import { EntraError, type EntraTokenRequest } from '../../../shared/exchange/entraClient.js';
import type { ExchangeDependencies } from '../../../shared/exchange/exchangeToken.js';
import { RecentTargets, refreshTokens } from '../../../shared/exchange/refreshTokens.js';
import { TokenCache } from '../../../shared/exchange/tokenCache.js';
import { compilePolicy } from '../../../shared/policy.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const APP = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const MI = 'bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee';
const VAULT = 'https://vault.azure.net/.default';
const GRAPH = 'https://graph.microsoft.com/.default';
const log = { info: () => {}, warn: () => {}, error: () => {} };

function setup(failFor?: string) {
  const clock = { t: 1_800_000_000_000, now: () => clock.t };
  const calls: EntraTokenRequest[] = [];
  const deps = {
    policy: compilePolicy({
      version: 1,
      targets: {
        app: { tenant: TENANT, clientId: APP, scopes: [VAULT, GRAPH], source: 'gcpMetadata' },
        mi: { tenant: TENANT, clientId: MI, scopes: [VAULT], source: 'gcpMetadata', warm: true },
      },
      rules: [],
    }),
    sources: new Map([
      [
        'gcpMetadata',
        {
          name: 'gcpMetadata',
          getAssertion: async () => ({
            token: 'a.b.c',
            expiresAtMs: clock.t + 3600_000,
            issuer: 'i',
            subject: 's',
          }),
        },
      ],
    ]),
    entra: {
      requestToken: async (request: EntraTokenRequest) => {
        calls.push(request);
        if (request.clientId === failFor)
          throw new EntraError('refused', 401, 700213, 'invalid_client', undefined);
        return { accessToken: `token-${calls.length}`, expiresAtMs: clock.t + 3600_000 };
      },
    },
    cache: new TokenCache({ clock, refreshBeforeMs: 300_000, minRemainingMs: 60_000, maxEntries: 100 }),
    recent: new RecentTargets(clock),
    clock,
    tokenExchangeAudience: 'api://AzureADTokenExchange',
  } as unknown as ExchangeDependencies;
  return { deps, clock, calls };
}

const options = { horizonMs: 600_000, recentWindowMs: 3_600_000 };

describe('refreshTokens', () => {
  it('fetches the warm target and the recently used pair, skips them while fresh, refreshes them near expiry', async () => {
    const { deps, clock, calls } = setup();
    deps.recent?.touch('app', GRAPH);

    const first = await refreshTokens(deps, log, options);
    const second = await refreshTokens(deps, log, options);
    clock.t += 3_100_000; // 500 s left: inside the 600 s horizon
    const third = await refreshTokens(deps, log, options);

    expect(first).toEqual({
      refreshed: [`app ${GRAPH}`, `mi ${VAULT}`],
      shared: [],
      published: [],
      skipped: [],
      failed: [],
    });
    expect(second).toEqual({
      refreshed: [],
      shared: [],
      published: [],
      skipped: [`app ${GRAPH}`, `mi ${VAULT}`],
      failed: [],
    });
    expect(third.refreshed).toEqual([`app ${GRAPH}`, `mi ${VAULT}`]);
    expect(calls).toHaveLength(4);
  });

  it('forgets a pair not used within the window, and reports a failure by target with its reason', async () => {
    const { deps, clock } = setup(MI);
    deps.recent?.touch('app', VAULT);
    clock.t += 3_700_000;

    expect(await refreshTokens(deps, log, options)).toEqual({
      refreshed: [],
      shared: [],
      published: [],
      skipped: [],
      failed: [`mi ${VAULT} (entra_refused)`],
    });
  });
});

describe('refreshSchedule', () => {
  it('defaults to every 5 minutes and refuses what is not six-field NCRONTAB', () => {
    expect(refreshSchedule({})).toBe('0 */5 * * * *');
    expect(refreshSchedule({ TOKEN_REFRESH_SCHEDULE: '30 */2 * * * *' })).toBe('30 */2 * * * *');
    expect(() => refreshSchedule({ TOKEN_REFRESH_SCHEDULE: '*/5 * * * *' })).toThrow(
      'TOKEN_REFRESH_SCHEDULE must be a six-field NCRONTAB expression',
    );
  });
});
