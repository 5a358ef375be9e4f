// loadKeyringFromVault: which versions of the cache key secret become the shared tier's keys, judged on
// the broker's clock (not the machine's), newest first, skipping disabled, expired, not-yet-valid and
// malformed versions.
import { randomBytes } from 'node:crypto';
import { RestError } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import type { LogTarget } from '../../../shared/log.js';
import { loadKeyringFromVault, type VaultAccess } from '../../../shared/sinks/keyVault.js';
import { PublishError } from '../../../shared/sinks/publisher.js';
import { errorText } from '../../helpers/errorText.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2031, 0, 1);

interface FakeVersion {
  version: string;
  createdOn: Date;
  enabled?: boolean;
  expiresOn?: Date;
  notBefore?: Date;
  value: string;
}

function fakeAccess(versions: FakeVersion[]): { access: VaultAccess; read: string[] } {
  const read: string[] = [];
  const client = {
    async *listPropertiesOfSecretVersions() {
      for (const { value: _value, ...properties } of versions) yield properties;
    },
    async getSecret(_name: string, options: { version: string }) {
      read.push(options.version);
      return { value: versions.find((v) => v.version === options.version)?.value };
    },
  };
  const access = { client: () => client, deadline: () => ({}) } as unknown as VaultAccess;
  return { access, read };
}

const silent: LogTarget = { info() {}, warn() {}, error() {} };
const key = () => randomBytes(32).toString('base64');

describe('loadKeyringFromVault', () => {
  it('keeps the enabled versions valid at the broker clock, newest first, and skips malformed ones', async () => {
    const { access, read } = fakeAccess([
      { version: 'old', createdOn: new Date(NOW - 48 * HOUR), value: key() },
      { version: 'newest', createdOn: new Date(NOW - HOUR), value: key() },
      { version: 'disabled', createdOn: new Date(NOW - 2 * HOUR), enabled: false, value: key() },
      // Expired by the broker's clock, though not by the machine's (2031 is in the machine's future).
      { version: 'expired', createdOn: new Date(NOW - 3 * HOUR), expiresOn: new Date(NOW - 1), value: key() },
      {
        version: 'future',
        createdOn: new Date(NOW - 4 * HOUR),
        notBefore: new Date(NOW + HOUR),
        value: key(),
      },
      { version: 'short', createdOn: new Date(NOW - 5 * HOUR), value: randomBytes(16).toString('base64') },
    ]);

    const keyring = await loadKeyringFromVault(
      access,
      'https://vault.example/secrets/token-cache-key',
      silent,
      {
        now: () => NOW,
      },
    );

    expect(read).toEqual(['newest', 'short', 'old']);
    expect(keyring.currentVersion).toBe('newest');
    expect(keyring.versions).toEqual(['newest', 'old']);
  });

  it("keeps none of the vault's request in the failure: not the secret sent, not the bearer token", async () => {
    const refused = new RestError('Forbidden', {
      statusCode: 403,
      code: 'Forbidden',
      // What the SDK's RestError holds: the request it failed on, with its body and Authorization header.
      request: {
        url: 'https://vault.example/secrets/cache-key',
        method: 'PUT',
        body: '{"value":"published-token-canary"}',
        headers: { get: () => 'Bearer vault-bearer-canary', authorization: 'Bearer vault-bearer-canary' },
      } as never,
      response: { status: 403, bodyAsText: '{"error":"body-canary"}', headers: {} } as never,
    });
    const client = {
      // biome-ignore lint/correctness/useYield: fails before yielding, as a refused vault does
      async *listPropertiesOfSecretVersions() {
        throw refused;
      },
    };
    const access = { client: () => client, deadline: () => ({}) } as unknown as VaultAccess;

    const error = await loadKeyringFromVault(
      access,
      'https://vault.example/secrets/token-cache-key',
      silent,
      {
        now: () => NOW,
      },
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).reason).toBe('key_vault_denied');
    expect((error as PublishError).cause).toEqual({ name: 'RestError', statusCode: 403, code: 'Forbidden' });
    expect(errorText(error)).not.toContain('canary');
  });
});
