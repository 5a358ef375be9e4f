// Microsoft's own client against the stand-in: @azure/identity's ClientAssertionCredential, changed only
// through its public authorityHost and disableInstanceDiscovery options, gets a token over https with an
// assertion from a stand-in OIDC issuer whose discovery is served over https on loopback.
import { ClientAssertionCredential } from '@azure/identity';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
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

describe('@azure/identity ClientAssertionCredential against the stand-in', () => {
  let fx: EntraFixture;
  let entra: RunningEntraStandIn;
  const issued: string[] = [];

  beforeAll(async () => {
    fx = await startEntraFixture();
    entra = await startEntraStandIn({
      seed: SEED,
      tls: await fx.ca.issue(['localhost', '127.0.0.1']),
      discoveryOverrides: { [ISSUER]: fx.issuer.server.url },
    });
  });
  afterAll(async () => {
    await entra.close();
    await fx.close();
  });

  const credential = (clientId: string) =>
    new ClientAssertionCredential(
      TENANT.id,
      clientId,
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const assertion = await fx.issuer.sign({
          iss: ISSUER,
          sub: CALLER.subject,
          aud: 'api://AzureADTokenExchange',
          iat: now,
          exp: now + 300,
        });
        issued.push(assertion);
        return assertion;
      },
      { authorityHost: entra.authorityHost, disableInstanceDiscovery: true },
    );

  it('gets a v2 access token that verifies against the published keys and carries the expected claims', async () => {
    const token = await credential(CALLER.appId).getToken(`${API_V2.uri}/.default`);

    expect(issued.length).toBeGreaterThan(0);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3500_000);
    const discovery = (await (
      await fetch(`${entra.url}/${TENANT.id}/v2.0/.well-known/openid-configuration`)
    ).json()) as { jwks_uri: string; issuer: string };
    const { payload } = await jwtVerify(token.token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: discovery.issuer,
      audience: API_V2.appId,
      algorithms: ['RS256'],
    });
    expect(discovery.issuer).toBe(v2Issuer(TENANT.id));
    expect(payload).toMatchObject({
      aud: API_V2.appId,
      iss: v2Issuer(TENANT.id),
      tid: TENANT.id,
      azp: CALLER.appId,
      oid: CALLER.spId,
      ver: '2.0',
      roles: [API_V2.role],
    });
    expect(decodeProtectedHeader(token.token).kid).toBe(entra.admin.keys.active.kid);
    expect(entra.admin.log.last(1)[0]).toMatchObject({
      endpoint: 'v2',
      outcome: 'issued',
      clientId: CALLER.appId,
    });
  });

  it('gets a v1 token for a v1 resource through the v2 endpoint (aud as requested, appid)', async () => {
    const token = await credential(CALLER.appId).getToken(`${API_V1.uri}/.default`);

    const keys = createRemoteJWKSet(new URL(`${entra.url}/common/discovery/keys`));
    const { payload } = await jwtVerify(token.token, keys, {
      issuer: v1Issuer(TENANT.id),
      audience: API_V1.uri,
    });
    expect(payload).toMatchObject({ tid: TENANT.id, appid: CALLER.appId, oid: CALLER.spId, ver: '1.0' });
  });

  it("surfaces the stand-in's refusal through MSAL with Entra's AADSTS code", async () => {
    const unknownClient = 'a1a1a1a1-0000-4000-8000-00000000dead';

    const failure = await credential(unknownClient)
      .getToken(`${API_V2.uri}/.default`)
      .then(
        () => undefined,
        (error: Error) => error,
      );

    expect(failure?.message).toContain('AADSTS700016');
    expect(entra.admin.log.last(1)[0]).toMatchObject({ outcome: 'refused', code: 700016, status: 400 });
  });
});
