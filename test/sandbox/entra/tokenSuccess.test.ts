// Successful exchanges: v2 and v1 response shapes and headers, access-token claims per resource version,
// lifetime, and signatures that verify against the stand-in's published keys over https.
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1Issuer, v2Issuer } from '../../../sandbox/entra/discovery.js';
import { type RunningEntraStandIn, startEntraStandIn } from '../../../sandbox/entra/server.js';
import {
  API_V1,
  API_V2,
  CALLER,
  type EntraFixture,
  ISSUER,
  SEED,
  startEntraFixture,
  TENANT,
} from './standInFixture.js';

describe('token endpoint: successful exchange', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  it('answers the v2 shape with Entra headers and a v2 token for a v2 resource', async () => {
    const res = await fx.token({ client_assertion: await fx.assertion() });

    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual([
      'access_token',
      'expires_in',
      'ext_expires_in',
      'token_type',
    ]);
    expect(res.body.token_type).toBe('Bearer');
    expect(typeof res.body.expires_in).toBe('number');
    expect(res.body.ext_expires_in).toBe(res.body.expires_in);
    expect(res.headers.get('cache-control')).toBe('no-store, no-cache');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(res.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const verified = await jwtVerify(res.body.access_token, createLocalJWKSet(fx.standIn.admin.keys.jwks()), {
      algorithms: ['RS256'],
      currentDate: new Date(fx.clock.now()),
    });
    expect(verified.protectedHeader).toMatchObject({ typ: 'JWT', alg: 'RS256' });
    expect(verified.protectedHeader.x5t).toBeUndefined();
    const claims = verified.payload;
    expect(claims).toMatchObject({
      aud: API_V2.appId,
      iss: v2Issuer(TENANT.id),
      azp: CALLER.appId,
      azpacr: '2',
      oid: CALLER.spId,
      sub: CALLER.spId,
      tid: TENANT.id,
      idtyp: 'app',
      roles: [API_V2.role],
      ver: '2.0',
    });
    expect(claims.appid).toBeUndefined();
    expect(typeof claims.uti).toBe('string');
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(res.body.expires_in);
  });

  it('answers the v1 shape (string numbers, expires_on, not_before, resource) with a v1 token', async () => {
    const res = await fx.token({ client_assertion: await fx.assertion() }, { endpoint: 'v1' });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', resource: API_V1.uri });
    for (const field of ['expires_in', 'ext_expires_in', 'expires_on', 'not_before']) {
      expect(res.body[field]).toMatch(/^\d+$/);
    }
    expect(Number(res.body.expires_on) - Number(res.body.not_before)).toBe(Number(res.body.expires_in));
    expect(Number(res.body.not_before)).toBe(fx.nowSeconds());

    const verified = await jwtVerify(res.body.access_token, createLocalJWKSet(fx.standIn.admin.keys.jwks()), {
      currentDate: new Date(fx.clock.now()),
    });
    expect(verified.protectedHeader.x5t).toBe(fx.standIn.admin.keys.active.x5t);
    expect(verified.payload).toMatchObject({
      aud: API_V1.uri,
      iss: v1Issuer(TENANT.id),
      idp: v1Issuer(TENANT.id),
      appid: CALLER.appId,
      appidacr: '2',
      oid: CALLER.spId,
      tid: TENANT.id,
      idtyp: 'app',
      ver: '1.0',
    });
    expect(verified.payload.azp).toBeUndefined();
    expect(verified.payload.roles).toBeUndefined();
  });

  it('picks the token version from the resource, not the endpoint', async () => {
    const v2FromV1 = await fx.token(
      { client_assertion: await fx.assertion(), resource: API_V2.uri },
      { endpoint: 'v1' },
    );
    const v1FromV2 = await fx.token({
      client_assertion: await fx.assertion(),
      scope: `${API_V1.uri}/.default`,
    });

    const ver = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).ver;
    expect(ver(v2FromV1.body.access_token)).toBe('2.0');
    expect(ver(v1FromV2.body.access_token)).toBe('1.0');
  });

  it('accepts the tenant by verified domain as well as by GUID', async () => {
    const res = await fx.token(
      { client_assertion: await fx.assertion() },
      { tenant: TENANT.domain.toUpperCase() },
    );

    expect(res.status).toBe(200);
  });

  it('draws a lifetime between 60 and 90 minutes', async () => {
    const lifetimes = new Set<number>();
    for (let i = 0; i < 8; i += 1) {
      const res = await fx.token({ client_assertion: await fx.assertion() });
      lifetimes.add(res.body.expires_in);
    }
    for (const lifetime of lifetimes) {
      expect(lifetime).toBeGreaterThanOrEqual(3600);
      expect(lifetime).toBeLessThanOrEqual(5400);
    }
    expect(lifetimes.size).toBeGreaterThan(1);
  });

  it('records the issuer, subject and a hash of the assertion, never the assertion itself', async () => {
    const assertion = await fx.assertion();
    await fx.token({ client_assertion: assertion });

    const [last] = fx.standIn.admin.log.last(1);
    expect(last).toMatchObject({
      outcome: 'issued',
      status: 200,
      assertion: { iss: ISSUER, sub: CALLER.subject },
    });
    expect(JSON.stringify(fx.standIn.admin.log.last())).not.toContain(assertion.split('.')[2]);
  });
});

describe('token endpoint over https', () => {
  let fx: EntraFixture;
  let running: RunningEntraStandIn;
  beforeAll(async () => {
    fx = await startEntraFixture();
    running = await startEntraStandIn({
      seed: SEED,
      tls: await fx.ca.issue(['127.0.0.1']),
      tokenLifetimeSeconds: 3599,
      discoveryOverrides: { [ISSUER]: fx.issuer.server.url },
    });
  });
  afterAll(async () => {
    await running.close();
    await fx.close();
  });

  it('issues a fixed-lifetime token that verifies against the published v2 keys (remote JWKS)', async () => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CALLER.appId,
      scope: `${API_V2.uri}/.default`,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await fx.issuer.sign({
        iss: ISSUER,
        sub: CALLER.subject,
        aud: 'api://AzureADTokenExchange',
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 300,
      }),
    });
    const res = await fetch(`${running.url}/${TENANT.id}/oauth2/v2.0/token`, { method: 'POST', body: form });
    const body = (await res.json()) as { access_token: string; expires_in: number };

    expect(res.status).toBe(200);
    expect(body.expires_in).toBe(3599);
    const keys = createRemoteJWKSet(new URL(`${running.url}/${TENANT.id}/discovery/v2.0/keys`));
    const { payload } = await jwtVerify(body.access_token, keys, {
      issuer: v2Issuer(TENANT.id),
      audience: API_V2.appId,
    });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(3599);
    expect(decodeProtectedHeader(body.access_token).kid).toBe(running.admin.keys.active.kid);
  });
});
