// The verified-token cache with the real Google verifier: the same token again is recognised without a
// second signature check; never after its `exp`, never once its key left the issuer's key set or was
// replaced under its `kid`; never for a token that differs in any byte; bounded, least recently used first.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedCaller } from '../../../shared/callers/callerVerifier.js';
import { createGoogleVerifier } from '../../../shared/callers/google.js';
import { type KeyGetter, VerifiedTokenCache } from '../../../shared/callers/verifiedTokenCache.js';
import { createTestSigner, type TestSigner } from '../../helpers/signer.js';

const NOW = 1_800_000_000;
const AUDIENCE = 'https://broker.example.com';
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const claims = (subject = '112233445566778899001') => ({
  iss: 'https://accounts.google.com',
  aud: AUDIENCE,
  sub: subject,
  iat: NOW - 10,
  exp: NOW - 10 + 3600,
});

let signer: TestSigner;
let other: TestSigner;
beforeAll(async () => {
  [signer, other] = await Promise.all([createTestSigner(), createTestSigner()]);
});

/**
 * The exchange's flow: recall the token without asking the key set when the cache can, else look it up;
 * on a miss verify it fully and remember it. `versioned`: the key getter tells which set it answers from
 * (`currentSet`), as the broker's JWKS resolver and SPIFFE bundles do; otherwise every recall asks it.
 */
function setup(versioned: boolean) {
  const clock = { t: NOW * 1000, now: () => clock.t };
  let published: JSONWebKeySet = signer.jwks;
  let current = createLocalJWKSet(published);
  const publish = (jwks: JSONWebKeySet) => {
    published = jwks;
    current = createLocalJWKSet(published);
  };
  let asked = 0;
  let duringAsk: (() => void) | undefined;
  const getter: KeyGetter = async (header, input) => {
    asked++;
    const answer = current(header, input);
    duringAsk?.();
    return answer;
  };
  const verifier = createGoogleVerifier({
    audience: AUDIENCE,
    keys: versioned ? Object.assign(getter, { currentSet: () => current }) : getter,
    clock,
    clockSkewSeconds: 60,
    maxTokenBytes: 8192,
    maxLifetimeSeconds: 3600,
  });
  const cache = new VerifiedTokenCache(clock, 3);
  let verifications = 0;
  const present = async (token: string): Promise<{ caller: VerifiedCaller; from: 'cache' | 'verified' }> => {
    const known = cache.known(sha256(token)) ?? (await cache.lookup(sha256(token)));
    if (known) return { caller: known, from: 'cache' };
    verifications++;
    const verified = await verifier.verify(token);
    cache.remember(sha256(token), verified);
    return { caller: verified, from: 'verified' };
  };
  return {
    clock,
    cache,
    present,
    publish,
    verifications: () => verifications,
    asked: () => asked,
    onAsk: (action: (() => void) | undefined) => {
      duringAsk = action;
    },
  };
}

describe.each([
  ['a key getter that asks every time', false],
  ['a key getter that tells its current set', true],
])('VerifiedTokenCache with %s', (_name, versioned) => {
  it('recognises the same token again without verifying it again, with the same principal', async () => {
    const { present, verifications } = setup(versioned);
    const token = await signer.sign(claims());

    const first = await present(token);
    const second = await present(token);

    expect(first.from).toBe('verified');
    expect(second).toMatchObject({
      from: 'cache',
      caller: { principal: first.caller.principal, expiresAt: NOW - 10 + 3600 },
    });
    expect(verifications()).toBe(1);
  });

  it('never serves a token at or after its exp, even inside the skew the full check allows', async () => {
    const { clock, present } = setup(versioned);
    const token = await signer.sign(claims());
    await present(token);

    clock.t = (NOW - 10 + 3600) * 1000 - 1;
    expect((await present(token)).from).toBe('cache');
    clock.t = (NOW - 10 + 3600) * 1000;
    // The full check still accepts it within the 60 s skew, but it is verified again, not recalled.
    expect((await present(token)).from).toBe('verified');
  });

  it("never serves a token once its key left the issuer's key set", async () => {
    const { present, publish } = setup(versioned);
    const token = await signer.sign(claims());
    await present(token);
    await present(token); // recalled: with a versioned getter, its set is now noted

    publish({ keys: [{ ...other.jwks.keys[0], kid: 'k2' }] }); // k1 is gone

    await expect(present(token)).rejects.toMatchObject({ code: 'invalid_grant' });
  });

  it('never serves a token whose kid now names another key', async () => {
    const { present, publish } = setup(versioned);
    const token = await signer.sign(claims());
    await present(token);
    await present(token); // recalled: with a versioned getter, its set is now noted

    publish(other.jwks); // the other signer's key, also published as k1

    await expect(present(token)).rejects.toMatchObject({ code: 'invalid_grant' });
  });

  it('keeps serving across a refetch of the same key set only after verifying once more', async () => {
    const { present, publish, verifications } = setup(versioned);
    const token = await signer.sign(claims());
    await present(token);
    publish({ keys: [...signer.jwks.keys] });

    expect((await present(token)).from).toBe('verified');
    expect((await present(token)).from).toBe('cache');
    expect(verifications()).toBe(2);
  });

  it('never recognises a token that differs in any one byte', async () => {
    const { cache, present } = setup(versioned);
    const token = await signer.sign(claims());
    await present(token);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.integer({ min: 1, max: 127 }),
        async (at, flip) => {
          const changed =
            token.slice(0, at) + String.fromCharCode(token.charCodeAt(at) ^ flip) + token.slice(at + 1);
          return (
            changed === token ||
            (cache.known(sha256(changed)) === undefined &&
              (await cache.lookup(sha256(changed))) === undefined)
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps no refused token, and holds at most its bound, the least recently used dropped first', async () => {
    const { cache, present } = setup(versioned);
    const forged = await other.sign(claims());
    await expect(present(forged)).rejects.toMatchObject({ code: 'invalid_grant' });
    expect(cache.size).toBe(0);

    const tokens = await Promise.all(
      ['1', '2', '3', '4'].map((n) => signer.sign(claims(`10000000000000000000${n}`))),
    );
    for (const token of tokens.slice(0, 3)) await present(token);
    await present(tokens[0] as string); // now the most recently used
    await present(tokens[3] as string); // evicts tokens[1]

    expect(cache.size).toBe(3);
    expect(await cache.lookup(sha256(tokens[1] as string))).toBeUndefined();
    expect(await cache.lookup(sha256(tokens[0] as string))).toBeDefined();
  });
});

describe('VerifiedTokenCache recalling without asking the key set', () => {
  it('asks the set once to confirm the key, then not again while the getter answers from that set', async () => {
    const { present, publish, asked, verifications } = setup(true);
    const token = await signer.sign(claims());
    await present(token); // verified: the signature check asks once
    await present(token); // looked up: asks once more and notes the set
    const afterConfirm = asked();
    for (let i = 0; i < 5; i++) expect((await present(token)).from).toBe('cache');

    expect(asked()).toBe(afterConfirm);
    publish({ keys: [...signer.jwks.keys] }); // a new set, even with the same key: asked again
    expect((await present(token)).from).toBe('verified');
    expect(asked()).toBeGreaterThan(afterConfirm);
    expect(verifications()).toBe(2);
  });

  it('does not recall through a set that was replaced while it was being asked', async () => {
    const { present, publish, onAsk, asked } = setup(true);
    const token = await signer.sign(claims());
    await present(token);
    onAsk(() => publish({ keys: [...signer.jwks.keys] })); // the set changes under the lookup
    expect((await present(token)).from).toBe('cache');
    onAsk(undefined);
    const before = asked();

    expect((await present(token)).from).toBe('verified');
    expect(asked()).toBeGreaterThan(before);
  });

  it('recalls nothing from a getter that cannot tell its set', async () => {
    const { cache, present } = setup(false);
    const token = await signer.sign(claims());
    await present(token);
    await present(token);

    expect(cache.known(sha256(token))).toBeUndefined();
    expect(await cache.lookup(sha256(token))).toBeDefined();
  });
});
