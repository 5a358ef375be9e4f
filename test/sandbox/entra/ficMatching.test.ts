// FIC matching at the token endpoint: issuer → 700211, audience → 700212, subject → 700213, case-only
// subject → 7002138, the legacy 70021 mode, flexible FICs, and the rule that unmatched issuers are never fetched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CALLER,
  type EntraFixture,
  expectRefusal,
  FLEX_APP,
  GITHUB,
  ISSUER,
  startEntraFixture,
} from './standInFixture.js';

describe('FIC matching (granular codes, the default)', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  it('refuses an issuer no FIC names: 700211 invalid_client 401, without contacting that issuer', async () => {
    const before = fx.github.requestCounts.discovery;
    const res = await fx.token({ client_assertion: await fx.assertion({ iss: GITHUB }) });

    expectRefusal(res, 700211, 'invalid_client', 401, `presented assertion issuer '${GITHUB}'.`);
    expect(fx.github.requestCounts.discovery).toBe(before);
  });

  it.each([
    ['a trailing slash', `${ISSUER}/`],
    ['other letter case', ISSUER.toUpperCase()],
    ['leading whitespace', ` ${ISSUER}`],
    ['http instead of https', ISSUER.replace('https:', 'http:')],
  ])('compares the issuer exactly (%s): 700211', async (_name, iss) => {
    const res = await fx.token({ client_assertion: await fx.assertion({ iss }) });

    expectRefusal(res, 700211, 'invalid_client', 401);
  });

  it('refuses a matching issuer with another audience: 700212 naming the audience', async () => {
    const res = await fx.token({ client_assertion: await fx.assertion({ aud: 'api://SomethingElse' }) });

    expectRefusal(res, 700212, 'invalid_client', 401, "presented assertion audience 'api://SomethingElse'.");
  });

  it('refuses an audience that differs only in case: 700212', async () => {
    const res = await fx.token({
      client_assertion: await fx.assertion({ aud: 'api://azureadtokenexchange' }),
    });

    expectRefusal(res, 700212, 'invalid_client', 401);
  });

  it('accepts an aud array that contains the FIC audience', async () => {
    const res = await fx.token({
      client_assertion: await fx.assertion({ aud: ['other', 'api://AzureADTokenExchange'] }),
    });

    expect(res.status).toBe(200);
  });

  it('refuses a matching issuer and audience with another subject: 700213 naming the subject', async () => {
    const res = await fx.token({ client_assertion: await fx.assertion({ sub: 'workload-2' }) });

    expectRefusal(res, 700213, 'invalid_client', 401, "presented assertion subject 'workload-2'.");
  });

  it('refuses a subject equal only ignoring case: 7002138', async () => {
    const res = await fx.token({
      client_assertion: await fx.assertion({ sub: CALLER.subject.toUpperCase() }),
    });

    expectRefusal(
      res,
      7002138,
      'invalid_client',
      401,
      'The subject matches with case-insensitive comparison, but not with case-sensitive comparison.',
    );
  });

  it('matches a flexible FIC with its claimsMatchingExpression', async () => {
    const sign = (sub: string) =>
      fx.github.sign({
        iss: GITHUB,
        sub,
        aud: 'api://AzureADTokenExchange',
        iat: fx.nowSeconds(),
        exp: fx.nowSeconds() + 300,
      });

    const main = await fx.token({
      client_id: FLEX_APP.appId,
      client_assertion: await sign('repo:contoso/app:ref:refs/heads/main'),
    });
    const other = await fx.token({
      client_id: FLEX_APP.appId,
      client_assertion: await sign('repo:contoso/app:ref:refs/heads/dev'),
    });

    expect(main.status).toBe(200);
    expectRefusal(other, 700213, 'invalid_client', 401);
  });
});

describe('FIC matching (legacy 70021 mode)', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture({ ficMismatchCodes: 'legacy70021' });
  });
  afterAll(() => fx.close());

  it.each([
    ['issuer', { iss: GITHUB }],
    ['audience', { aud: 'api://SomethingElse' }],
    ['subject', { sub: 'workload-2' }],
  ])('answers every mismatch (%s) with 70021 naming issuer, subject and audience', async (_name, claims) => {
    const res = await fx.token({ client_assertion: await fx.assertion(claims) });
    const merged = { iss: ISSUER, sub: CALLER.subject, aud: 'api://AzureADTokenExchange', ...claims };

    expectRefusal(
      res,
      70021,
      'invalid_request',
      400,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${merged.iss}'. Assertion Subject: '${merged.sub}'. Assertion Audience: '${merged.aud}'.`,
    );
  });
});
