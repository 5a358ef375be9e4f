// Refusals of the assertion itself before any FIC or key: malformed (50027), `typ` (5002727, per mode),
// `alg` (5002730), missing `kid` (5002723), lifetime (70023) and validity window with skew (700024).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EntraFixture, expectRefusal, startEntraFixture } from './standInFixture.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('assertion structure', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  const validClaims = () => ({
    iss: 'https://issuer.workload.test',
    sub: 'workload-1',
    aud: 'api://AzureADTokenExchange',
    iat: fx.nowSeconds(),
    exp: fx.nowSeconds() + 600,
  });

  it.each([
    ['two segments', () => `${b64({ alg: 'RS256', kid: 'k' })}.${b64(validClaims())}`],
    ['a JWE (five segments)', () => 'a.b.c.d.e'],
    [
      'a header that is not JSON',
      () => `${Buffer.from('{nope').toString('base64url')}.${b64(validClaims())}.c2ln`,
    ],
    ['a payload that is a JSON array', () => `${b64({ alg: 'RS256', kid: 'k' })}.${b64([1])}.c2ln`],
    ['non-base64url characters', () => `${b64({ alg: 'RS256', kid: 'k' })}.${b64(validClaims())}.c2l+/=`],
    ['no alg', () => `${b64({ kid: 'k', typ: 'JWT' })}.${b64(validClaims())}.c2ln`],
    ['an empty signature', () => `${b64({ alg: 'RS256', kid: 'k' })}.${b64(validClaims())}.`],
  ])('refuses %s: 50027 invalid_request', async (_name, build) => {
    const res = await fx.token({ client_assertion: build() });

    expectRefusal(res, 50027, 'invalid_request', 400);
    expect(res.body.error_description).toContain('JWT token is invalid or malformed.');
  });

  it.each(['iss', 'sub', 'aud', 'exp'])('refuses an assertion without %s: 50027', async (claim) => {
    const claims: Record<string, unknown> = { ...validClaims() };
    delete claims[claim];
    const res = await fx.token({ client_assertion: await fx.issuer.sign(claims) });

    expectRefusal(res, 50027, 'invalid_request', 400);
  });

  it('refuses a non-numeric exp: 50027', async () => {
    const res = await fx.token({
      client_assertion: await fx.assertion({ exp: String(fx.nowSeconds() + 60) }),
    });

    expectRefusal(res, 50027, 'invalid_request', 400);
  });

  it.each(['JWS', 'at+jwt', 'jwt'])('refuses typ %s: 5002727', async (typ) => {
    const res = await fx.token({ client_assertion: await fx.assertion({}, { header: { typ } }) });

    expectRefusal(res, 5002727, 'invalid_request', 400);
    expect(res.body.error_description).toContain("must be 'JWT' or 'http://openid.net/specs/jwt/1.0'.");
  });

  it('accepts typ http://openid.net/specs/jwt/1.0, and an absent typ in the default mode', async () => {
    const openid = await fx.token({
      client_assertion: await fx.assertion({}, { header: { typ: 'http://openid.net/specs/jwt/1.0' } }),
    });
    const absent = await fx.token({
      client_assertion: await fx.assertion({}, { header: { typ: undefined } }),
    });

    expect([openid.status, absent.status]).toEqual([200, 200]);
  });

  it('refuses an algorithm outside the allowed set (ES256 by default): 5002730', async () => {
    const kid = await fx.issuer.addKey({ alg: 'ES256' });
    const res = await fx.token({ client_assertion: await fx.assertion({}, { kid }) });

    expectRefusal(res, 5002730, 'invalid_request', 400);
  });

  it('refuses alg none: 5002730, never reaching a key', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(validClaims())}.c2ln`;
    const res = await fx.token({ client_assertion: none });

    expectRefusal(res, 5002730, 'invalid_request', 400);
  });

  it('refuses an assertion without kid: 5002723 invalid_client 401', async () => {
    const res = await fx.token({ client_assertion: await fx.assertion({}, { header: { kid: undefined } }) });

    expectRefusal(res, 5002723, 'invalid_client', 401);
  });
});

describe('assertion lifetime and validity window', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  it('refuses exp − iat above 25 h: 70023 with the epoch times in the message', async () => {
    const iat = fx.nowSeconds();
    const exp = iat + 25 * 3600 + 1;
    const res = await fx.token({ client_assertion: await fx.assertion({ iat, exp }) });

    expectRefusal(res, 70023, 'invalid_client', 401);
    expect(res.body.error_description).toContain(
      `External OIDC Provider token must have a lifetime of less than or equal to 1.01:00:00. Token issued at ${iat}. Token expires on ${exp}.`,
    );
  });

  it('accepts exactly 25 h', async () => {
    const iat = fx.nowSeconds();
    const res = await fx.token({ client_assertion: await fx.assertion({ iat, exp: iat + 25 * 3600 }) });

    expect(res.status).toBe(200);
  });

  it('treats a missing iat as 0: 70023', async () => {
    const res = await fx.token({ client_assertion: await fx.assertion({ iat: undefined }) });

    expectRefusal(res, 70023, 'invalid_client', 401);
    expect(res.body.error_description).toContain('Token issued at 0.');
  });

  it('refuses an expired assertion beyond the 300 s skew: 700024 with ISO times', async () => {
    const iat = fx.nowSeconds() - 1000;
    const exp = fx.nowSeconds() - 301;
    const res = await fx.token({ client_assertion: await fx.assertion({ iat, exp }) });

    expectRefusal(res, 700024, 'invalid_client', 401);
    const iso = (s: number) => `${new Date(s * 1000).toISOString().slice(0, 19)}.0000000Z`;
    expect(res.body.error_description).toContain(
      `Client assertion is not within its valid time range. Current time: ${new Date(fx.clock.now()).toISOString().slice(0, 23)}0000Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion ${iso(exp)}.`,
    );
  });

  it('accepts an assertion expired by less than the skew', async () => {
    const res = await fx.token({
      client_assertion: await fx.assertion({ iat: fx.nowSeconds() - 900, exp: fx.nowSeconds() - 299 }),
    });

    expect(res.status).toBe(200);
  });

  it('refuses an assertion not valid before nbf beyond the skew: 700024 naming nbf', async () => {
    const nbf = fx.nowSeconds() + 301;
    const res = await fx.token({ client_assertion: await fx.assertion({ nbf, exp: nbf + 600 }) });

    expectRefusal(res, 700024, 'invalid_client', 401);
    expect(res.body.error_description).toContain(
      `assertion valid from ${new Date(nbf * 1000).toISOString().slice(0, 19)}.0000000Z`,
    );
  });

  it('follows the injected clock: a valid assertion fails once the clock passes exp + skew', async () => {
    const assertion = await fx.assertion({ exp: fx.nowSeconds() + 60 });
    expect((await fx.token({ client_assertion: assertion })).status).toBe(200);

    fx.clock.advance(361);

    expectRefusal(await fx.token({ client_assertion: assertion }), 700024, 'invalid_client', 401);
  });
});

describe('assertion checks: configured modes', () => {
  it('typCheck required refuses an absent typ; typCheck off accepts JWS', async () => {
    const strict = await startEntraFixture({ typCheck: 'required' });
    const lax = await startEntraFixture({ typCheck: 'off' });
    try {
      const absent = await strict.token({
        client_assertion: await strict.assertion({}, { header: { typ: undefined } }),
      });
      const jws = await lax.token({ client_assertion: await lax.assertion({}, { header: { typ: 'JWS' } }) });

      expectRefusal(absent, 5002727, 'invalid_request', 400);
      expect(jws.status).toBe(200);
    } finally {
      await strict.close();
      await lax.close();
    }
  });

  it('allowedTypValues can admit Cognito-style JWS; allowedAlgorithms can admit ES256', async () => {
    const fx = await startEntraFixture({
      allowedTypValues: ['JWT', 'JWS'],
      allowedAlgorithms: ['RS256', 'ES256'],
    });
    try {
      const kid = await fx.issuer.addKey({ alg: 'ES256' });
      const res = await fx.token({
        client_assertion: await fx.assertion({}, { kid, header: { typ: 'JWS' } }),
      });

      expect(res.status).toBe(200);
    } finally {
      await fx.close();
    }
  });

  it('clockSkewSeconds 0 refuses an assertion one second past exp', async () => {
    const fx = await startEntraFixture({ clockSkewSeconds: 0 });
    try {
      const res = await fx.token({ client_assertion: await fx.assertion({ exp: fx.nowSeconds() }) });

      expectRefusal(res, 700024, 'invalid_client', 401);
    } finally {
      await fx.close();
    }
  });

  it('requireKid false accepts a kid-less assertion when the JWKS has a single key', async () => {
    const fx = await startEntraFixture({ requireKid: false });
    try {
      const res = await fx.token({
        client_assertion: await fx.assertion({}, { header: { kid: undefined } }),
      });

      expect(res.status).toBe(200);
    } finally {
      await fx.close();
    }
  });
});
