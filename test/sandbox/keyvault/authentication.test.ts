// The vault's doors: the challenge a token-less request gets, tokens it refuses (audience, issuer, unknown
// key, bad signature, expiry) with Key Vault's 401s, access-policy 403s, and api-version refusals.
import type { AccessToken, TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyVaultStandIn } from '../../../sandbox/keyvault/server.js';
import { OTHER_TENANT } from '../entra/standInFixture.js';
import {
  CALLER,
  failure,
  MI,
  startVaultFixture,
  TENANT,
  VAULT_SCOPE,
  type VaultFixture,
} from './vaultFixture.js';

const CHALLENGE = `Bearer authorization="https://login.windows.net/${TENANT.id}", resource="https://vault.azure.net"`;

describe('Key Vault stand-in authentication and authorisation', () => {
  let kv: VaultFixture;
  let vaultToken: string;

  beforeAll(async () => {
    kv = await startVaultFixture();
    vaultToken = (await kv.credential().getToken(VAULT_SCOPE)).token;
    await kv.client(kv.credential()).setSecret('shared', 'readable-by-both');
  });
  afterAll(async () => {
    await kv?.close();
  });

  const get = (path: string, authorization?: string) =>
    fetch(`${kv.vault.vaultUrl}${path}`, { headers: authorization ? { authorization } : {} });

  it('challenges a request without a token with the header the SDK parses', async () => {
    const response = await get('/secrets/shared/?api-version=2026-04-01');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(CHALLENGE);
    expect(await response.json()).toEqual({
      error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
    });
  });

  it('is refused by the SDK unless disableChallengeResourceVerification is set (the host is no *.vault.azure.net)', async () => {
    const strict = new SecretClient(kv.vault.vaultUrl, kv.credential());

    const error = await failure(strict.getSecret('shared'));

    expect(error.message).toContain(
      "The challenge resource 'vault.azure.net' does not match the requested domain",
    );
  });

  it('refuses a token for another audience with AKV10022, through the SDK too', async () => {
    const inner = kv.credential();
    const armOnly: TokenCredential = {
      getToken: (_scopes, options): Promise<AccessToken | null> =>
        inner.getToken('https://management.azure.com/.default', options),
    };
    const armToken = (await inner.getToken('https://management.azure.com/.default')).token;
    // Key Vault's app id as the scope gives a v1 token with that GUID as `aud`, which the message says is wrong.
    const appIdToken = (await inner.getToken('cfa8b339-82a2-471a-a3c9-0fc0be7a4093/.default')).token;

    const raw = await get('/secrets/shared?api-version=7.6', `Bearer ${armToken}`);
    const viaSdk = await failure(kv.client(armOnly).getSecret('shared'));

    expect(raw.status).toBe(401);
    expect(raw.headers.get('www-authenticate')).toBe(CHALLENGE);
    const body = (await raw.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('Unauthorized');
    expect(body.error.message).toMatch(
      /^AKV10022: Invalid audience\. Expected https:\/\/vault\.azure\.net, found: https:\/\/management\.azure\.com\/?\.$/,
    );
    expect({ status: viaSdk.statusCode, code: viaSdk.code }).toEqual({ status: 401, code: 'Unauthorized' });
    expect(viaSdk.message).toContain('AKV10022');
    const byAppId = await get('/secrets/shared?api-version=7.6', `Bearer ${appIdToken}`);
    expect(((await byAppId.json()) as { error: { message: string } }).error.message).toBe(
      'AKV10022: Invalid audience. Expected https://vault.azure.net, found: cfa8b339-82a2-471a-a3c9-0fc0be7a4093.',
    );
  });

  it("refuses another tenant's vault with AKV10032 naming the expected issuers", async () => {
    const foreign = createKeyVaultStandIn({ tenantId: OTHER_TENANT.id, entraUrl: kv.entra.url });

    const response = await foreign.app.request('/secrets/shared?api-version=7.6', {
      headers: { authorization: `Bearer ${vaultToken}` },
    });

    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${OTHER_TENANT.id}/, https://login.microsoftonline.com/${OTHER_TENANT.id}/v2.0, found https://sts.windows.net/${TENANT.id}/.`,
    );
  });

  it('refuses a token signed by a key Entra does not publish with AKV10046, and a tampered one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await kv.fx.issuer.sign({
      iss: `https://sts.windows.net/${TENANT.id}/`,
      aud: 'https://vault.azure.net',
      oid: CALLER.spId,
      appid: CALLER.appId,
      iat: now,
      exp: now + 600,
    });
    const [header, payload, signature] = vaultToken.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, oid: MI.principalId })).toString('base64url')}.${signature}`;

    const unknownKey = await get('/secrets/shared?api-version=7.6', `Bearer ${forged}`);
    const badSignature = await get('/secrets/shared?api-version=7.6', `Bearer ${tampered}`);

    expect(unknownKey.status).toBe(401);
    expect(((await unknownKey.json()) as { error: { message: string } }).error.message).toBe(
      `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${forged.split('.')[0]}'.`,
    );
    expect(badSignature.status).toBe(401);
    expect(badSignature.headers.get('www-authenticate')).toBe(CHALLENGE);
    const text = await badSignature.text();
    expect(text).not.toContain(tampered);
    expect(JSON.parse(text).error.code).toBe('Unauthorized');
  });

  it('refuses an expired token with [TokenExpired] once the clock passes exp plus the skew', async () => {
    let now = Date.now();
    const later = createKeyVaultStandIn({
      tenantId: TENANT.id,
      entraUrl: kv.entra.url,
      accessPolicies: { [CALLER.spId]: ['get'] },
      clock: { now: () => now },
    });
    const request = () =>
      later.app.request('/secrets/shared?api-version=7.6', {
        headers: { authorization: `Bearer ${vaultToken}` },
      });

    const fresh = await request();
    now += 2 * 3600_000;
    const expired = await request();

    expect(fresh.status).toBe(404); // authenticated: this vault is empty
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({
      error: { code: 'Unauthorized', message: "[TokenExpired] Error validating token: 'S2S12086'." },
    });
  });

  it("answers 403 Forbidden/AccessDenied to an identity without 'set', naming it", async () => {
    const managedIdentity = kv.client(kv.credential('managedIdentity'));

    const readable = await managedIdentity.getSecret('shared');
    const refused = await failure(managedIdentity.setSecret('shared', 'overwrite'));

    expect(readable.value).toBe('readable-by-both');
    expect({ status: refused.statusCode, code: refused.code }).toEqual({ status: 403, code: 'Forbidden' });
    expect(refused.message).toBe(
      `The user, group or application 'appid=${MI.clientId};oid=${MI.principalId};iss=https://sts.windows.net/${TENANT.id}/' does not have secrets set permission on key vault 'sandbox-vault;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
    );
    expect(refused.details?.error?.innerError?.code).toBe('AccessDenied');
    expect((await kv.client(kv.credential()).getSecret('shared')).value).toBe('readable-by-both');
  });

  it('answers 403 to every operation once the policy is removed, before looking the secret up', async () => {
    const { status } = await kv.admin('PUT', '/access-policies', { identity: MI.clientId, permissions: [] });
    const managedIdentity = kv.client(kv.credential('managedIdentity'));

    const refused = await failure(managedIdentity.getSecret('does-not-exist'));

    expect(status).toBe(204);
    expect({ status: refused.statusCode, code: refused.code }).toEqual({ status: 403, code: 'Forbidden' });
    expect(refused.message).toContain('does not have secrets get permission');
  });

  it('refuses an api-version the SDK would not send, and a request without one', async () => {
    const unknown = await get('/secrets/shared?api-version=7.9', `Bearer ${vaultToken}`);
    const missing = await get('/secrets/shared', `Bearer ${vaultToken}`);

    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        code: 'BadParameter',
        message:
          'The specified version (7.9) is not recognized. Consider using the latest supported version (2026-04-01).',
      },
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('BadParameter');
  });
  it('routes after authenticating: 405 for PUT /secrets/, 400 for an invalid name, 501 for what it does not model', async () => {
    const send = (method: string, path: string) =>
      fetch(`${kv.vault.vaultUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${vaultToken}`, 'content-type': 'application/json' },
        ...(method === 'PUT' ? { body: JSON.stringify({ value: 'x' }) } : {}),
      });

    const put = await send('PUT', '/secrets/?api-version=7.6');
    const badName = await send('PUT', '/secrets/bad_name?api-version=7.6');
    const remove = await send('DELETE', '/secrets/shared?api-version=7.6');

    expect([put.status, await put.json()]).toEqual([
      405,
      { error: { code: 'MethodNotAllowed', message: 'HTTP PUT not allowed' } },
    ]);
    expect([badName.status, await badName.json()]).toEqual([
      400,
      { error: { code: 'BadParameter', message: 'The request URI contains an invalid name: bad_name' } },
    ]);
    expect(remove.status).toBe(501);
    expect((await kv.client(kv.credential()).getSecret('shared')).value).toBe('readable-by-both');
  });
});
