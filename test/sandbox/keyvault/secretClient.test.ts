// Microsoft's SecretClient against the vault stand-in, unchanged but for disableChallengeResourceVerification:
// the challenge flow, versions with attributes, paged listings, and Key Vault's answers for disabled, expired
// and missing secrets.
import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, startVaultFixture, type VaultFixture } from './vaultFixture.js';

describe('SecretClient against the Key Vault stand-in', () => {
  let kv: VaultFixture;
  let client: SecretClient;

  beforeAll(async () => {
    kv = await startVaultFixture();
    client = kv.client(kv.credential());
  });
  afterAll(async () => {
    await kv?.close();
  });

  it('sets a secret with contentType, expiry, not-before and tags after answering the challenge', async () => {
    const expiresOn = new Date(Math.floor(Date.now() / 1000 + 86_400) * 1000);
    const notBefore = new Date(Math.floor(Date.now() / 1000 - 60) * 1000);

    const first = await client.setSecret('broker-signing-key', 'v1-value', {
      contentType: 'text/plain',
      expiresOn,
      notBefore,
      tags: { owner: 'broker', rotation: '1' },
    });

    expect(first.value).toBe('v1-value');
    expect(first.properties).toMatchObject({
      name: 'broker-signing-key',
      vaultUrl: kv.vault.vaultUrl,
      contentType: 'text/plain',
      expiresOn,
      notBefore,
      enabled: true,
      tags: { owner: 'broker', rotation: '1' },
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    });
    expect(first.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(first.properties.id).toBe(
      `${kv.vault.vaultUrl}/secrets/broker-signing-key/${first.properties.version}`,
    );
    expect(first.properties.createdOn).toBeInstanceOf(Date);
    // The SDK's first request went out without a token and was challenged; the retry carried it.
    const [probe, retry] = kv.vault.admin.log
      .last(50)
      .filter((entry) => entry.secretName === 'broker-signing-key' || entry.operation === 'unauthenticated');
    expect(probe).toMatchObject({
      method: 'PUT',
      status: 401,
      hadAuthorization: false,
      operation: 'unauthenticated',
    });
    expect(retry).toMatchObject({ operation: 'setSecret', status: 200, callerObjectId: expect.any(String) });
  });

  it('keeps every version: latest by name, the old one by id, both listed with attributes', async () => {
    const old = await client.getSecret('broker-signing-key');
    const second = await client.setSecret('broker-signing-key', 'v2-value', { tags: { rotation: '2' } });

    const latest = await client.getSecret('broker-signing-key');
    const byId = await client.getSecret('broker-signing-key', { version: old.properties.version ?? '' });
    const versions = [];
    for await (const properties of client.listPropertiesOfSecretVersions('broker-signing-key')) {
      versions.push(properties);
    }

    expect(latest.value).toBe('v2-value');
    expect(latest.properties.version).toBe(second.properties.version);
    expect(byId.value).toBe('v1-value');
    expect(byId.properties.contentType).toBe('text/plain');
    expect(versions.map((v) => v.version).sort()).toEqual(
      [old.properties.version, second.properties.version].sort(),
    );
    const v1 = versions.find((v) => v.version === old.properties.version);
    expect(v1).toMatchObject({
      enabled: true,
      contentType: 'text/plain',
      tags: { owner: 'broker', rotation: '1' },
    });
    expect(v1?.expiresOn).toEqual(old.properties.expiresOn);
    expect(versions.find((v) => v.version === second.properties.version)?.expiresOn).toBeUndefined();
  });

  it('pages versions with nextLink when the page size is smaller than the list', async () => {
    await client.setSecret('paged', 'a');
    await client.setSecret('paged', 'b');
    await client.setSecret('paged', 'c');

    const pages: string[][] = [];
    for await (const page of client.listPropertiesOfSecretVersions('paged').byPage({ maxPageSize: 1 })) {
      pages.push(page.map((properties) => properties.version ?? ''));
    }

    expect(pages).toHaveLength(3);
    expect(pages.flat()).toEqual([...pages.flat()].sort());
    expect(new Set(pages.flat()).size).toBe(3);
    const listings = kv.vault.admin.log.last(10).filter((entry) => entry.operation === 'getSecretVersions');
    expect(listings.slice(-3).map((entry) => entry.status)).toEqual([200, 200, 200]);
  });

  it('lists secrets by base id (no version) with the current version attributes', async () => {
    const names: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets()) {
      names.push(properties.name);
      if (properties.name === 'broker-signing-key') {
        expect(properties.id).toBe(`${kv.vault.vaultUrl}/secrets/broker-signing-key`);
        expect(properties.version).toBeUndefined();
        expect(properties.tags).toEqual({ rotation: '2' });
      }
    }
    expect(names).toEqual(['broker-signing-key', 'paged']);
  });

  it('refuses a disabled secret with 403 SecretDisabled but returns an expired one', async () => {
    await client.setSecret('switched-off', 'hidden', { enabled: false });
    await client.setSecret('stale', 'still-readable', { expiresOn: new Date(Date.now() - 3_600_000) });

    const disabled = await failure(client.getSecret('switched-off'));
    const stale = await client.getSecret('stale');

    expect({ status: disabled.statusCode, code: disabled.code, message: disabled.message }).toEqual({
      status: 403,
      code: 'Forbidden',
      message: 'Operation get is not allowed on a disabled secret.',
    });
    expect(disabled.details?.error?.innerError?.code).toBe('SecretDisabled');
    expect(stale.value).toBe('still-readable');
    expect(stale.properties.expiresOn?.getTime()).toBeLessThan(Date.now());
  });

  it('answers 404 SecretNotFound for a missing secret and a missing version', async () => {
    const missing = await failure(client.getSecret('never-set'));
    const missingVersion = await failure(client.getSecret('paged', { version: '0'.repeat(32) }));

    expect({ status: missing.statusCode, code: missing.code }).toEqual({
      status: 404,
      code: 'SecretNotFound',
    });
    expect(missing.message).toMatch(
      /^A secret with \(name\/id\) never-set was not found in this key vault\./,
    );
    expect({ status: missingVersion.statusCode, code: missingVersion.code }).toEqual({
      status: 404,
      code: 'SecretNotFound',
    });
  });

  it('updates attributes of a version without returning its value', async () => {
    const created = await client.setSecret('to-update', 'v', { enabled: false });

    const updated = await client.updateSecretProperties('to-update', created.properties.version ?? '', {
      enabled: true,
      tags: { state: 'restored' },
    });

    expect(updated).toMatchObject({ enabled: true, tags: { state: 'restored' } });
    expect((await client.getSecret('to-update')).value).toBe('v');
  });

  it('shows names, versions and attributes on /admin/secrets, never a value', async () => {
    const { status, body } = await kv.admin('GET', '/secrets');

    expect(status).toBe(200);
    const text = JSON.stringify(body);
    expect(text).toContain('broker-signing-key');
    expect(text).not.toContain('v1-value');
    expect(text).not.toContain('still-readable');
    const secrets = (body as { secrets: { name: string; versions: { current: boolean }[] }[] }).secrets;
    expect(secrets.find((s) => s.name === 'broker-signing-key')?.versions.map((v) => v.current)).toEqual([
      false,
      true,
    ]);
  });
});
