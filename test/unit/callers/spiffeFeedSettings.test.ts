// The broker's SPIFFE settings reach the bundle feed it builds: the first-bundle wait and the keepalive
// pings (SPIFFE_KEEPALIVE_SECONDS, in seconds, handed on in milliseconds), or none when they are off.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCallerVerifiers } from '../../../shared/callers/fromConfig.js';
import { loadConfig } from '../../../shared/config.js';
import { compilePolicy } from '../../../shared/policy.js';

const feeds = vi.hoisted(() => [] as Array<{ endpoint: string; options: Record<string, unknown> }>);
vi.mock('../../../shared/callers/spiffeBundles.js', () => ({
  createSpiffeBundleFeed: (endpoint: string, options: Record<string, unknown>) => {
    feeds.push({ endpoint, options });
    return {
      keysFor: () => Object.assign(async () => undefined, { currentSet: () => undefined }),
      close() {},
    };
  },
}));

const policy = compilePolicy({
  version: 1,
  targets: {
    vault: {
      tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      clientId: '00000000-0000-0000-0000-00000000c11e',
      scopes: ['https://vault.azure.net/.default'],
      source: 'gcpMetadata',
    },
  },
  rules: [
    {
      name: 'workloads',
      callers: [{ kind: 'spiffe', trustDomain: 'example.org', path: '/ns/prod/sa/api' }],
      targets: ['vault'],
    },
  ],
});
const settings = (extra: Record<string, string>) =>
  loadConfig({
    BROKER_AUDIENCE: 'https://broker.example.com',
    BROKER_POLICY_FILE: '/etc/broker/policy.json',
    SPIFFE_ENDPOINT_SOCKET: 'unix:///run/spire/agent.sock',
    SPIFFE_TRUST_DOMAINS: JSON.stringify([{ trustDomain: 'example.org', workloadApi: true }]),
    ...extra,
  });
const clock = { now: () => Date.now() };

describe('the SPIFFE bundle feed the broker builds', () => {
  afterEach(() => {
    feeds.length = 0;
  });

  it('pings every SPIFFE_KEEPALIVE_SECONDS, in milliseconds, 330 s unless set', async () => {
    await createCallerVerifiers(settings({}), policy, clock);
    await createCallerVerifiers(
      settings({ SPIFFE_KEEPALIVE_SECONDS: '45', JWKS_TIMEOUT_MS: '1500' }),
      policy,
      clock,
    );

    expect(feeds).toEqual([
      {
        endpoint: 'unix:///run/spire/agent.sock',
        options: { firstBundleTimeoutMs: 5000, keepaliveMs: 330_000 },
      },
      {
        endpoint: 'unix:///run/spire/agent.sock',
        options: { firstBundleTimeoutMs: 1500, keepaliveMs: 45_000 },
      },
    ]);
  });

  it('does not ping when SPIFFE_KEEPALIVE_SECONDS is 0', async () => {
    await createCallerVerifiers(settings({ SPIFFE_KEEPALIVE_SECONDS: '0' }), policy, clock);

    expect(feeds[0]?.options.keepaliveMs).toBe(0);
  });
});
