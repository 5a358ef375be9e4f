// Discovery, keys and instance discovery in Entra's shapes: real issuers, endpoints on the stand-in's own
// base URL, unknown tenants refused with invalid_tenant AADSTS90002, and MSAL's instance-discovery answer.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMERS_TENANT_ID } from '../../../sandbox/entra/discovery.js';
import { createEntraStandIn, type EntraStandIn } from '../../../sandbox/entra/server.js';
import { SEED, TENANT } from './standInFixture.js';

describe('discovery endpoints', () => {
  let standIn: EntraStandIn;
  const base = 'https://127.0.0.1:8443';
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await standIn.app.request(`${base}${path}`);
    return { status: res.status, body: await res.json() };
  };
  beforeAll(async () => {
    standIn = await createEntraStandIn({ seed: SEED });
  });

  it('serves the v2 document for a tenant (by domain) with the GUID issuer and local endpoints', async () => {
    const { status, body } = await get(`/${TENANT.domain}/v2.0/.well-known/openid-configuration`);

    expect(status).toBe(200);
    expect(body).toMatchObject({
      issuer: `https://login.microsoftonline.com/${TENANT.id}/v2.0`,
      token_endpoint: `${base}/${TENANT.id}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/${TENANT.id}/oauth2/v2.0/authorize`,
      jwks_uri: `${base}/${TENANT.id}/discovery/v2.0/keys`,
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: expect.arrayContaining(['private_key_jwt']),
    });
  });

  it('serves the v1 document with the sts.windows.net issuer and the common key set', async () => {
    const { status, body } = await get(`/${TENANT.id}/.well-known/openid-configuration`);

    expect(status).toBe(200);
    expect(body).toMatchObject({
      issuer: `https://sts.windows.net/${TENANT.id}/`,
      token_endpoint: `${base}/${TENANT.id}/oauth2/token`,
      authorization_endpoint: `${base}/${TENANT.id}/oauth2/authorize`,
      jwks_uri: `${base}/common/discovery/keys`,
    });
  });

  it('keeps the {tenantid} placeholder on /common and /organizations, and resolves /consumers', async () => {
    const common = await get('/common/v2.0/.well-known/openid-configuration');
    const organizations = await get('/organizations/v2.0/.well-known/openid-configuration');
    const consumers = await get('/consumers/v2.0/.well-known/openid-configuration');

    expect(common.body.issuer).toBe('https://login.microsoftonline.com/{tenantid}/v2.0');
    expect(common.body.token_endpoint).toBe(`${base}/common/oauth2/v2.0/token`);
    expect(organizations.body.issuer).toBe('https://login.microsoftonline.com/{tenantid}/v2.0');
    expect(consumers.body.issuer).toBe(`https://login.microsoftonline.com/${CONSUMERS_TENANT_ID}/v2.0`);
  });

  it.each([
    '/unknown.onmicrosoft.com/v2.0/.well-known/openid-configuration',
    '/unknown.onmicrosoft.com/.well-known/openid-configuration',
    '/unknown.onmicrosoft.com/discovery/v2.0/keys',
  ])('refuses an unknown tenant (%s): 400 invalid_tenant AADSTS90002', async (path) => {
    const { status, body } = await get(path);

    expect(status).toBe(400);
    expect(body.error).toBe('invalid_tenant');
    expect(body.error_codes).toEqual([90002]);
    expect(body.error_description).toMatch(/^AADSTS90002: Tenant 'unknown\.onmicrosoft\.com' not found\./);
  });

  it.each([`/${TENANT.id}/discovery/v2.0/keys`, '/common/discovery/v2.0/keys'])(
    'publishes v2 keys in Entra shape with an issuer (%s)',
    async (path) => {
      const { body } = await get(path);
      const [key] = body.keys;

      expect(Object.keys(key).sort()).toEqual(['e', 'issuer', 'kid', 'kty', 'n', 'use', 'x5c', 'x5t']);
      expect(key).toMatchObject({ kty: 'RSA', use: 'sig', kid: standIn.admin.keys.active.kid, e: 'AQAB' });
      expect(key.x5t).toBe(key.kid);
      expect(key.issuer).toBe(
        path.startsWith('/common')
          ? 'https://login.microsoftonline.com/{tenantid}/v2.0'
          : `https://login.microsoftonline.com/${TENANT.id}/v2.0`,
      );
    },
  );

  it('publishes v1 keys without issuer, with an x5c certificate whose SHA-1 is x5t', async () => {
    const { body } = await get('/common/discovery/keys');
    const [key] = body.keys;

    expect(key.issuer).toBeUndefined();
    expect(createHash('sha1').update(Buffer.from(key.x5c[0], 'base64')).digest('base64url')).toBe(key.x5t);
  });

  it('publishes old and new keys after a rotation, and signs with the new one', async () => {
    const before = standIn.admin.keys.active.kid;
    const res = await standIn.app.request('/admin/keys/rotate', { method: 'POST' });
    const { kid } = (await res.json()) as { kid: string };
    const { body } = await get('/common/discovery/v2.0/keys');

    expect(res.status).toBe(201);
    expect(kid).not.toBe(before);
    expect(body.keys.map((k: { kid: string }) => k.kid)).toEqual([before, kid]);
    expect(standIn.admin.keys.active.kid).toBe(kid);
  });

  it("answers MSAL's instance discovery for its own host", async () => {
    const authority = `${base}/${TENANT.id}/oauth2/v2.0/authorize`;
    const { status, body } = await get(
      `/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(authority)}`,
    );

    expect(status).toBe(200);
    expect(body).toEqual({
      tenant_discovery_endpoint: `${base}/${TENANT.id}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [
        {
          preferred_network: '127.0.0.1:8443',
          preferred_cache: '127.0.0.1:8443',
          aliases: ['localhost:8443', '127.0.0.1:8443', '[::1]:8443'],
        },
      ],
    });
  });

  it('refuses instance discovery for a host it does not serve: invalid_instance AADSTS50049', async () => {
    const { status, body } = await get(
      '/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    );

    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_instance', error_codes: [50049] });
  });
});
