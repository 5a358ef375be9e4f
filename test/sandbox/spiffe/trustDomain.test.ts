// The trust domain state the agent and the OIDC provider share: key types, the SPIFFE bundle form, option checks.
import { describe, expect, it } from 'vitest';
import { createSpireTrustDomain } from '../../../sandbox/spiffe/trustDomain.js';

describe('SPIRE trust domain state', () => {
  it('gives the SPIFFE bundle form: use jwt-svid, a sequence bumped by each rotation, a 5-minute refresh hint', async () => {
    const domain = await createSpireTrustDomain({ name: 'example.org' });
    const before = domain.spiffeBundle();

    const { kid } = await domain.rotate();
    const after = domain.spiffeBundle();

    expect(before.keys.map((key) => [key.use, key.kid])).toEqual([['jwt-svid', before.keys[0]?.kid]]);
    expect(after.keys.map((key) => key.kid)).toEqual([before.keys[0]?.kid, kid]);
    expect(after.spiffe_sequence).toBe(before.spiffe_sequence + 1);
    expect(after.spiffe_refresh_hint).toBe(300);
    // SPIRE's kids: 32 random letters and digits (pkg/server/ca/manager/manager.go newKeyID).
    expect(after.keys.map((key) => key.kid)).toEqual([
      expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      expect.stringMatching(/^[A-Za-z0-9]{32}$/),
    ]);
    expect(domain.jwks().keys.every((key) => key.use === undefined && key.alg === undefined)).toBe(true);
  });

  it('publishes a single 4096-bit key for rsa-4096, and mints RS256 with it', async () => {
    const domain = await createSpireTrustDomain({ name: 'big.example', jwtKeyType: 'rsa-4096' });

    const keys = domain.jwks().keys;
    const { token } = domain.mintSvid('spiffe://big.example/x', ['aud'], 1_800_000_000);

    expect(keys.map((key) => [key.kid, Buffer.from(String(key.n), 'base64url').length * 8])).toEqual([
      [domain.activeKid, 4096],
    ]);
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString())).toEqual({
      alg: 'RS256',
      kid: domain.activeKid,
      typ: 'JWT',
    });
  });

  it.each([
    [{ name: 'Example.org' }, 'trust domain characters are limited'],
    [{ name: 'example.org', svidTtlSeconds: 0 }, 'svidTtlSeconds must be a positive integer'],
  ])('refuses %j', async (options, message) => {
    await expect(createSpireTrustDomain(options)).rejects.toThrow(message);
  });
});
