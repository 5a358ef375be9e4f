// Sealing for the shared tier: a sealed token opens only for its own cache key and expiry, with a key
// version the ring still holds; a changed byte anywhere does not open; the setting parses strictly.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyring, parseKeyringSetting, SealError } from '../../../shared/exchange/tokenSeal.js';

const key = (version: string) => ({ version, key: randomBytes(32) });
const token = { accessToken: 'eyJhbGciOi.access-token.signature', expiresAtMs: 1_800_003_600_000 };
const KEY_A = JSON.stringify(['tenant', 'client', 'https://vault.azure.net/.default']);
const KEY_B = JSON.stringify(['tenant', 'client', 'https://graph.microsoft.com/.default']);

const reasonOf = (run: () => unknown) => {
  try {
    run();
    return 'opened';
  } catch (error) {
    return error instanceof SealError ? error.reason : String(error);
  }
};

describe('Keyring', () => {
  it('opens what it sealed, and the blob holds no plaintext', () => {
    const ring = new Keyring([key('v1')]);
    const sealed = ring.seal(KEY_A, token);
    expect(JSON.stringify(sealed)).not.toContain('access-token');
    expect(sealed).toMatchObject({ v: 1, k: 'v1', exp: token.expiresAtMs });
    expect(ring.open(KEY_A, sealed)).toEqual(token);
  });

  it('uses a fresh nonce per seal', () => {
    const ring = new Keyring([key('v1')]);
    expect(ring.seal(KEY_A, token).iv).not.toBe(ring.seal(KEY_A, token).iv);
  });

  it('refuses a sealed token moved to another cache key, or given another expiry', () => {
    const ring = new Keyring([key('v1')]);
    const sealed = ring.seal(KEY_A, token);
    expect(reasonOf(() => ring.open(KEY_B, sealed))).toBe('not_authentic');
    expect(reasonOf(() => ring.open(KEY_A, { ...sealed, exp: sealed.exp + 3_600_000 }))).toBe(
      'not_authentic',
    );
  });

  it('still opens with a rotated-out key and seals with the new one; a dropped key no longer opens', () => {
    const v1 = key('v1');
    const v2 = key('v2');
    const old = new Keyring([v1]).seal(KEY_A, token);
    const rotated = new Keyring([v2, v1]);
    expect(rotated.open(KEY_A, old)).toEqual(token);
    expect(rotated.seal(KEY_A, token).k).toBe('v2');
    expect(reasonOf(() => new Keyring([v2]).open(KEY_A, old))).toBe('unknown_key_version');
  });

  it('refuses a same-named key with other bytes', () => {
    const sealed = new Keyring([key('v1')]).seal(KEY_A, token);
    expect(reasonOf(() => new Keyring([key('v1')]).open(KEY_A, sealed))).toBe('not_authentic');
  });

  it('never opens a sealed token with one byte changed', () => {
    const ring = new Keyring([key('v1')]);
    const sealed = ring.seal(KEY_A, token);
    fc.assert(
      fc.property(
        fc.constantFrom('iv', 'ct', 'tag'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (field, at, flip) => {
          const bytes = Buffer.from(sealed[field as 'iv' | 'ct' | 'tag'], 'base64');
          const index = at % bytes.length;
          bytes[index] = (bytes[index] as number) ^ flip;
          const changed = { ...sealed, [field]: bytes.toString('base64') };
          return reasonOf(() => ring.open(KEY_A, changed)) === 'not_authentic';
        },
      ),
    );
  });

  it('calls anything else malformed', () => {
    const ring = new Keyring([key('v1')]);
    for (const value of [undefined, null, 'x', { v: 2 }, { ...ring.seal(KEY_A, token), iv: '' }])
      expect(reasonOf(() => ring.open(KEY_A, value))).toBe('malformed');
  });

  it('refuses short keys, odd versions and repeated versions', () => {
    expect(() => new Keyring([])).toThrow(/at least one key/);
    expect(() => new Keyring([{ version: 'v1', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => new Keyring([{ version: 'v 1', key: randomBytes(32) }])).toThrow(/version/);
    expect(() => new Keyring([key('v1'), key('v1')])).toThrow(/distinct/);
  });
});

describe('parseKeyringSetting', () => {
  it('reads versions and base64 keys in order, the sealing key first', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const keys = parseKeyringSetting(` v2:${a.toString('base64')} , v1:${b.toString('base64')}`);
    expect(keys.map((k) => k.version)).toEqual(['v2', 'v1']);
    expect(keys[0]?.key.equals(a)).toBe(true);
  });

  it('names the bad entry by position and version, never by its value', () => {
    const value = `v1:${randomBytes(16).toString('base64')}`;
    let message = '';
    try {
      parseKeyringSetting(value);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('entry 1 (v1) must be <version>:<base64 of 32 random bytes>');
    expect(() => parseKeyringSetting(randomBytes(32).toString('base64'))).toThrow(/^entry 1 must be/);
  });
});
