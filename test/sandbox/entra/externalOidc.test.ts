// The external issuer side of the exchange, over real https on loopback: discovery overrides, https and
// issuer-equality rules, endpoint failures (501661 family), the 100-key limit, the per-issuer cache, the
// rate-limited refetch on an unknown kid, and signature failures (700027 / 50027).
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcIssuer, type OidcIssuer, startOidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import { type RunningServer, serve } from '../../../sandbox/lib/serve.js';
import {
  CALLER,
  type EntraFixture,
  EXCHANGE_AUD,
  expectRefusal,
  ISSUER,
  startEntraFixture,
} from './standInFixture.js';

/** Adds a FIC for `issuer` and subject `sub` to the caller app through the directory's own API. */
function trustIssuer(fx: EntraFixture, issuer: string, name: string, sub = CALLER.subject): void {
  const app = fx.standIn.directory.findApplicationByAppId(CALLER.appId);
  const created = fx.standIn.directory.createFic(
    { kind: 'application', objectId: app?.id ?? '' },
    { name, issuer, subject: sub, audiences: [EXCHANGE_AUD] },
  );
  expect(created.ok).toBe(true);
}

const signFor = (fx: EntraFixture, issuer: OidcIssuer, options?: Parameters<OidcIssuer['sign']>[1]) =>
  issuer.sign(
    {
      iss: issuer.issuer,
      sub: CALLER.subject,
      aud: EXCHANGE_AUD,
      iat: fx.nowSeconds(),
      exp: fx.nowSeconds() + 300,
    },
    options,
  );

describe('external OIDC: where discovery is fetched', () => {
  let fx: EntraFixture;
  let selfHosted: OidcIssuer;
  let front: RunningServer;
  beforeAll(async () => {
    fx = await startEntraFixture();
    // An issuer whose real iss is its own loopback URL: served first, created once the URL is known.
    const proxy = new Hono();
    proxy.all('*', (c) => selfHosted.app.fetch(c.req.raw));
    front = await serve(proxy, { tls: await fx.ca.issue(['127.0.0.1']) });
    selfHosted = await createOidcIssuer({ issuer: front.url, baseUrl: front.url });
    trustIssuer(fx, front.url, 'self-hosted');
  });
  afterAll(async () => {
    await front.close();
    await fx.close();
  });

  it('fetches {iss}/.well-known/openid-configuration when no override names the issuer', async () => {
    const res = await fx.token({ client_assertion: await signFor(fx, selfHosted) });

    expect(res.status).toBe(200);
    expect(selfHosted.requestCounts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('fetches from the override base URL while comparing the real iss', async () => {
    const res = await fx.token({ client_assertion: await fx.assertion() });

    expect(res.status).toBe(200);
    expect(fx.issuer.requestCounts.discovery).toBeGreaterThan(0);
    expect(fx.standIn.admin.log.last(1)[0]?.assertion?.iss).toBe(ISSUER);
  });
});

describe('external OIDC: endpoint failures and issuer rules', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());
  const fresh = () => {
    fx.standIn.admin.resolver.clear();
    fx.issuer.fail('discovery', undefined);
    fx.issuer.fail('jwks', undefined);
    fx.issuer.setDiscoveryOverrides(undefined);
  };

  it.each([
    ['discovery answers 500', () => fx.issuer.fail('discovery', { status: 500 })],
    ['discovery answers 404', () => fx.issuer.fail('discovery', { status: 404 })],
    ['discovery drops the connection', () => fx.issuer.fail('discovery', { unreachable: true })],
    ['discovery is not JSON', () => fx.issuer.fail('discovery', { body: '<html>' })],
    ['JWKS answers 503', () => fx.issuer.fail('jwks', { status: 503 })],
    ['JWKS drops the connection', () => fx.issuer.fail('jwks', { unreachable: true })],
    ['JWKS has no keys array', () => fx.issuer.fail('jwks', { body: '{"kes":[]}' })],
    ['discovery has no jwks_uri', () => fx.issuer.setDiscoveryOverrides({ jwks_uri: undefined })],
    [
      'jwks_uri is plain http',
      () => fx.issuer.setDiscoveryOverrides({ jwks_uri: 'http://127.0.0.1:9/jwks' }),
    ],
    [
      'discovery issuer differs from iss',
      () => fx.issuer.setDiscoveryOverrides({ issuer: 'https://other.test' }),
    ],
  ])('refuses when %s: 501661 "Request to External OIDC endpoint failed."', async (_name, breakIt) => {
    fresh();
    breakIt();
    const res = await fx.token({ client_assertion: await fx.assertion() });
    fresh();

    expectRefusal(
      res,
      501661,
      'invalid_request',
      400,
      'AADSTS501661: Request to External OIDC endpoint failed.',
    );
  });

  it('recovers once the issuer is back (a failure is not cached)', async () => {
    fresh();
    fx.issuer.fail('discovery', { status: 500 });
    const failed = await fx.token({ client_assertion: await fx.assertion() });
    fx.issuer.fail('discovery', undefined);
    const recovered = await fx.token({ client_assertion: await fx.assertion() });

    expect([failed.status, recovered.status]).toEqual([400, 200]);
  });

  it('refuses a plain-http issuer named by a FIC: 501661, and does not fetch it', async () => {
    const httpIssuer = await startOidcIssuer({ issuer: 'http://plain.issuer.test' });
    try {
      trustIssuer(fx, httpIssuer.issuer, 'plain-http');
      fx.standIn.admin.resolver.setDiscoveryOverride(httpIssuer.issuer, httpIssuer.server.url);
      const res = await fx.token({ client_assertion: await signFor(fx, httpIssuer) });

      expectRefusal(res, 501661, 'invalid_request', 400);
      expect(httpIssuer.requestCounts.discovery).toBe(0);
    } finally {
      await httpIssuer.server.close();
    }
  });
});

describe('external OIDC: configured rules', () => {
  it('uses the configured code of the family (90061) and can skip the issuer-equality check', async () => {
    const strict = await startEntraFixture({ oidcFailureCode: 90061 });
    const lax = await startEntraFixture({ requireDiscoveryIssuerMatch: false });
    try {
      strict.issuer.setDiscoveryOverrides({ issuer: 'https://other.test' });
      lax.issuer.setDiscoveryOverrides({ issuer: 'https://other.test' });

      expectRefusal(
        await strict.token({ client_assertion: await strict.assertion() }),
        90061,
        'invalid_request',
        400,
      );
      expect((await lax.token({ client_assertion: await lax.assertion() })).status).toBe(200);
    } finally {
      await strict.close();
      await lax.close();
    }
  });

  it('requireHttpsIssuer false admits a plain-http issuer', async () => {
    const fx = await startEntraFixture({ requireHttpsIssuer: false });
    const httpIssuer = await startOidcIssuer({ issuer: 'http://plain.issuer.test' });
    try {
      trustIssuer(fx, httpIssuer.issuer, 'plain-http');
      fx.standIn.admin.resolver.setDiscoveryOverride(httpIssuer.issuer, httpIssuer.server.url);
      const res = await fx.token({ client_assertion: await signFor(fx, httpIssuer) });

      expect(res.status).toBe(200);
    } finally {
      await httpIssuer.server.close();
      await fx.close();
    }
  });
});

describe('external OIDC: keys', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  it('keeps only the first 100 signing keys: key #100 verifies, key #101 fails with 700027', async () => {
    const issuer = await startOidcIssuer({
      issuer: 'https://many-keys.test',
      tls: await fx.ca.issue(['127.0.0.1']),
    });
    try {
      trustIssuer(fx, issuer.issuer, 'many-keys');
      fx.standIn.admin.resolver.setDiscoveryOverride(issuer.issuer, issuer.server.url);
      await issuer.publishDecoyKeys(99, 'first');
      const hundredth = await fx.token({ client_assertion: await signFor(fx, issuer) });

      await issuer.publishDecoyKeys(1, 'first');
      fx.standIn.admin.resolver.clear();
      const hundredAndFirst = await fx.token({ client_assertion: await signFor(fx, issuer) });

      expect(issuer.jwks().keys).toHaveLength(101);
      expect(hundredth.status).toBe(200);
      expectRefusal(hundredAndFirst, 700027, 'invalid_client', 401, 'The key was not found.');
    } finally {
      await issuer.server.close();
    }
  });

  it('refuses a kid the issuer never published: 700027', async () => {
    const kid = await fx.issuer.addKey({ publish: false });
    const res = await fx.token({ client_assertion: await fx.assertion({}, { kid }) });

    expectRefusal(
      res,
      700027,
      'invalid_client',
      401,
      `Client assertion failed signature validation. [Reason - The key was not found., Key ID: '${kid}']`,
    );
  });

  it('refuses a signature that does not verify: 700027', async () => {
    const [head, body] = (await fx.assertion()).split('.');
    const [, , otherSignature] = (await fx.assertion({ jti: 'other' })).split('.');
    const res = await fx.token({ client_assertion: `${head}.${body}.${otherSignature}` });

    expectRefusal(res, 700027, 'invalid_client', 401, 'The signature is invalid.');
  });

  it('refuses keys published without use: sig (SPIRE without set_key_use)', async () => {
    const issuer = await startOidcIssuer({
      issuer: 'https://no-use.test',
      publishKeyUse: false,
      tls: await fx.ca.issue(['127.0.0.1']),
    });
    try {
      trustIssuer(fx, issuer.issuer, 'no-use');
      fx.standIn.admin.resolver.setDiscoveryOverride(issuer.issuer, issuer.server.url);

      expectRefusal(
        await fx.token({ client_assertion: await signFor(fx, issuer) }),
        700027,
        'invalid_client',
        401,
      );
    } finally {
      await issuer.server.close();
    }
  });

  it('caches keys per issuer: no fetch within the TTL, one refetch after it', async () => {
    fx.standIn.admin.resolver.clear();
    const before = { ...fx.issuer.requestCounts };
    await fx.token({ client_assertion: await fx.assertion() });
    await fx.token({ client_assertion: await fx.assertion() });
    fx.clock.advance(3599);
    await fx.token({ client_assertion: await fx.assertion() });
    const withinTtl = fx.issuer.requestCounts.jwks - before.jwks;
    fx.clock.advance(2);
    const afterTtl = await fx.token({ client_assertion: await fx.assertion() });

    expect(withinTtl).toBe(1);
    expect(afterTtl.status).toBe(200);
    expect(fx.issuer.requestCounts.jwks - before.jwks).toBe(2);
  });

  it('refetches on an unknown kid at most once per cooldown, then finds a rotated key', async () => {
    fx.standIn.admin.resolver.clear();
    await fx.token({ client_assertion: await fx.assertion() });
    const base = fx.issuer.requestCounts.jwks;
    const rotated = await fx.issuer.rotate();

    const inCooldown = await fx.token({ client_assertion: await fx.assertion({}, { kid: rotated }) });
    for (let i = 0; i < 5; i += 1) {
      await fx.token({ client_assertion: await fx.assertion({}, { header: { kid: `unknown-${i}` } }) });
    }
    const fetchesInCooldown = fx.issuer.requestCounts.jwks - base;
    fx.clock.advance(30);
    const afterCooldown = await fx.token({ client_assertion: await fx.assertion({}, { kid: rotated }) });

    expectRefusal(inCooldown, 700027, 'invalid_client', 401, 'The key was not found.');
    expect(fetchesInCooldown).toBe(0);
    expect(afterCooldown.status).toBe(200);
    expect(fx.issuer.requestCounts.jwks - base).toBe(1);
  });
});

describe('external OIDC: signature failure code', () => {
  it('answers 50027 instead of 700027 when configured', async () => {
    const fx = await startEntraFixture({ signatureFailureCode: 50027 });
    try {
      const kid = await fx.issuer.addKey({ publish: false });

      expectRefusal(
        await fx.token({ client_assertion: await fx.assertion({}, { kid }) }),
        50027,
        'invalid_request',
        400,
      );
    } finally {
      await fx.close();
    }
  });
});
