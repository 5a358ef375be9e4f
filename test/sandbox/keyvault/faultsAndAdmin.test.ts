// Injected 429s and 5xx reach SecretClient's retry policy: retried when Retry-After is set (the counters show
// both attempts), surfaced when it is not; and the admin API refuses faults Key Vault could not answer.
import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failure, startVaultFixture, type VaultFixture } from './vaultFixture.js';

describe('Key Vault stand-in faults and counters', () => {
  let kv: VaultFixture;
  let client: SecretClient;

  beforeAll(async () => {
    kv = await startVaultFixture();
    client = kv.client(kv.credential());
    await client.setSecret('throttled', 'value');
  });
  beforeEach(async () => {
    await kv.admin('DELETE', '/faults');
    await kv.admin('POST', '/counters/reset');
  });
  afterAll(async () => {
    await kv?.close();
  });

  it('counts the challenge of a new client and its authenticated retry', async () => {
    await kv.client(kv.credential()).getSecret('throttled');

    const { body } = await kv.admin('GET', '/counters');

    expect(body).toEqual({
      total: 2,
      challenges: 1,
      byOperation: { unauthenticated: { '401': 1 }, getSecret: { '200': 1 } },
    });
  });

  it('retries a 429 that carries Retry-After, and the retry succeeds', async () => {
    const added = await kv.admin('POST', '/faults', {
      status: 429,
      retryAfterSeconds: 0,
      operation: 'getSecret',
      count: 1,
    });

    const secret = await client.getSecret('throttled');

    expect(added.status).toBe(201);
    expect(secret.value).toBe('value');
    expect((await kv.admin('GET', '/counters')).body).toMatchObject({
      byOperation: { getSecret: { '429': 1, '200': 1 } },
    });
    const [throttled, retried] = kv.vault.admin.log.last(2);
    expect(throttled).toMatchObject({ status: 429, code: 'Throttled', faultId: expect.any(String) });
    expect(retried).toMatchObject({ status: 200, faultId: undefined });
  });

  it("surfaces a 429 without Retry-After with Key Vault's Throttled body (the SDK does not retry it)", async () => {
    await kv.admin('POST', '/faults', { status: 429, operation: 'getSecret', count: 1 });

    const error = await failure(client.getSecret('throttled'));

    expect({ status: error.statusCode, code: error.code, message: error.message }).toEqual({
      status: 429,
      code: 'Throttled',
      message:
        'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
    });
    expect((await kv.admin('GET', '/counters')).body).toMatchObject({
      byOperation: { getSecret: { '429': 1 } },
    });
  });

  it('retries 503s with Retry-After until the outage ends', async () => {
    await kv.admin('POST', '/faults', { status: 503, retryAfterSeconds: 0, count: 2 });

    const secret = await client.setSecret('after-outage', 'written');

    expect(secret.value).toBe('written');
    expect((await kv.admin('GET', '/counters')).body).toMatchObject({
      byOperation: { setSecret: { '503': 2, '200': 1 } },
    });
    expect((await kv.admin('GET', '/faults')).body).toMatchObject({
      faults: [{ status: 503, remaining: 0 }],
    });
  });

  it('applies a fault only to its operation', async () => {
    await kv.admin('POST', '/faults', { status: 429, operation: 'setSecret' });

    const read = await client.getSecret('throttled');

    expect(read.value).toBe('value');
    expect((await kv.admin('GET', '/counters')).body).toEqual({
      total: 1,
      challenges: 0,
      byOperation: { getSecret: { '200': 1 } },
    });
  });

  it('refuses a fault Key Vault could not answer, and an unknown operation', async () => {
    const notAFault = await kv.admin('POST', '/faults', { status: 404 });
    const unknownOperation = await kv.admin('POST', '/faults', { status: 429, operation: 'deleteSecret' });

    expect(notAFault.status).toBe(400);
    expect(notAFault.body).toMatchObject({
      error: 'invalid_fault',
      issues: [expect.stringContaining('status')],
    });
    expect(unknownOperation.status).toBe(400);
    expect((await kv.admin('GET', '/faults')).body).toEqual({ faults: [] });
  });
});
