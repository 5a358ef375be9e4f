// Encryption at rest for the shared cache tier (issue 10): AES-256-GCM from Node's crypto, a fresh 96-bit
// nonce per token, and the cache key and expiry as authenticated data, so a sealed token moved to another
// key's blob, or given another expiry, does not open. Keys are versioned: the first encrypts, every one
// decrypts, so a rotated-out key still opens the tokens it sealed until they expire.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EntraToken } from './entraClient.js';

export interface SealKey {
  /** A short name stored with each sealed token (letters, digits, `.`, `_`, `-`). */
  version: string;
  /** 32 bytes. */
  key: Buffer;
}

/** What a blob holds: nothing here is secret without a key. */
export interface SealedToken {
  v: 1;
  /** Version of the key that sealed it. */
  k: string;
  iv: string;
  ct: string;
  tag: string;
  /** The token's expiry (ms since the epoch), readable without the key and bound by the tag. */
  exp: number;
}

/** Why a sealed token did not open; never the token, never the key. */
export class SealError extends Error {
  constructor(readonly reason: 'unknown_key_version' | 'not_authentic' | 'malformed') {
    super(`the sealed token did not open: ${reason}`);
    this.name = 'SealError';
  }
}

const ALGORITHM = 'aes-256-gcm';
const FORMAT = 'entra-token-broker/sealed-token/v1';

const additionalData = (cacheKey: string, expiresAtMs: number) =>
  Buffer.from(JSON.stringify([FORMAT, cacheKey, expiresAtMs]), 'utf8');

export class Keyring {
  readonly #byVersion: ReadonlyMap<string, Buffer>;
  readonly #current: SealKey;

  /** `keys[0]` seals; all of them open. */
  constructor(keys: readonly SealKey[]) {
    const [current] = keys;
    if (!current) throw new Error('a keyring needs at least one key');
    for (const { version, key } of keys) {
      if (key.length !== 32) throw new Error(`key ${version} must be 32 bytes, not ${key.length}`);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(version))
        throw new Error('a key version must be 1-64 of [A-Za-z0-9._-]');
    }
    if (new Set(keys.map((key) => key.version)).size !== keys.length)
      throw new Error('key versions must be distinct');
    this.#current = current;
    this.#byVersion = new Map(keys.map(({ version, key }) => [version, key]));
  }

  get currentVersion(): string {
    return this.#current.version;
  }

  get versions(): string[] {
    return [...this.#byVersion.keys()];
  }

  seal(cacheKey: string, token: EntraToken): SealedToken {
    const iv = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, this.#current.key, iv);
    cipher.setAAD(additionalData(cacheKey, token.expiresAtMs));
    const ct = Buffer.concat([cipher.update(token.accessToken, 'utf8'), cipher.final()]);
    return {
      v: 1,
      k: this.#current.version,
      iv: iv.toString('base64'),
      ct: ct.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      exp: token.expiresAtMs,
    };
  }

  /** The token `sealed` holds for `cacheKey`; throws SealError when it is not that key's or not authentic. */
  open(cacheKey: string, sealed: unknown): EntraToken {
    if (!isSealed(sealed)) throw new SealError('malformed');
    const key = this.#byVersion.get(sealed.k);
    if (!key) throw new SealError('unknown_key_version');
    const iv = Buffer.from(sealed.iv, 'base64');
    const tag = Buffer.from(sealed.tag, 'base64');
    if (iv.length !== 12 || tag.length !== 16) throw new SealError('malformed');
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: 16 });
      decipher.setAAD(additionalData(cacheKey, sealed.exp));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
      return { accessToken: plain.toString('utf8'), expiresAtMs: sealed.exp };
    } catch {
      throw new SealError('not_authentic');
    }
  }
}

function isSealed(value: unknown): value is SealedToken {
  const candidate = value as Partial<SealedToken> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.v === 1 &&
    typeof candidate.k === 'string' &&
    typeof candidate.iv === 'string' &&
    typeof candidate.ct === 'string' &&
    typeof candidate.tag === 'string' &&
    Number.isSafeInteger(candidate.exp)
  );
}

/**
 * Keys from a setting: `<version>:<base64 of 32 bytes>` separated by commas, the sealing key first.
 * Errors name the entry's position and version, never its value.
 */
export function parseKeyringSetting(value: string): SealKey[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item, index) => {
      const colon = item.indexOf(':');
      const version = colon > 0 ? item.slice(0, colon) : '';
      const key = Buffer.from(item.slice(colon + 1), 'base64');
      if (!version || key.length !== 32)
        throw new Error(
          `entry ${index + 1}${version ? ` (${version})` : ''} must be <version>:<base64 of 32 random bytes>`,
        );
      return { version, key };
    });
}
