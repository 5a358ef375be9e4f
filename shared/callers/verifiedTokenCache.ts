// The verified-token cache (issue 11): a caller presenting the same JWT again is recognised by the
// token's SHA-256 without checking its signature again. An entry is used only while the token has not
// expired (its `exp`, without the clock-skew allowance the full check gives) and only while the issuer's
// key set, as the broker currently holds it, still resolves the token's `kid` to the very key that
// verified it: a key that left the JWKS (or was replaced under the same `kid`) sends the token back
// through full verification. Only successes are kept; a refusal is checked again each time. Bounded,
// least recently used evicted first. Written here because the check of the key is the broker's own
// (no cache library knows about JWKS), and a Map in insertion order is all the LRU needs.
import type { FlattenedJWSInput, JWTHeaderParameters, JWTVerifyGetKey } from 'jose';
import type { Clock } from '../clock.js';
import type { VerifiedCaller } from './callerVerifier.js';

/**
 * A key getter that can also tell, without being asked for a key, which key set it answers from: the
 * same object for as long as it would answer a key the set holds from that set, without fetching or
 * failing over, and undefined whenever asking it might fetch, fall back or refuse for want of a set
 * (jwksResolver.ts, spiffeBundles.ts). An unknown `kid` may still make it fetch; the verified-token
 * cache only ever asks for keys it found in that very set.
 */
export type KeyGetter = JWTVerifyGetKey & { currentSet?: () => object | undefined };

/**
 * How a JWT verifier proves, later, that the key which verified a token is still the issuer's: the key
 * set is chosen again (by `iss` and `sub`) and asked for the header's key. Small on purpose: 100,000
 * entries are kept (bench/memory.ts).
 */
export interface SigningKeyProof {
  /** The verifier's own key-set chooser, shared by all its entries. */
  keysFor: (chooser: { iss: unknown; sub: unknown }) => KeyGetter | undefined;
  chooser: { iss: unknown; sub: unknown };
  /** What key sets choose by. */
  header: Pick<JWTHeaderParameters, 'alg' | 'kid'>;
  /** The key object jose verified with. */
  key: unknown;
  /**
   * The key set (its getter's `currentSet`) in which the cache last found `key` under `header`; while
   * the getter still answers from that very set, the key is still there and need not be asked for.
   */
  confirmedIn?: object;
}

// Key sets choose by the protected header; nothing of the token's body is needed.
const NO_BODY: FlattenedJWSInput = { payload: '', signature: '' };

export type CachedCaller = VerifiedCaller & { signingKey?: SigningKeyProof };

type KeyedCaller = CachedCaller & { signingKey: SigningKeyProof };
const hasSigningKey = (verified: CachedCaller): verified is KeyedCaller => verified.signingKey !== undefined;

export class VerifiedTokenCache {
  // The verifier's own result is the entry (no copy): its `expiresAt` and `signingKey` are all the checks need.
  readonly #entries = new Map<string, KeyedCaller>();

  constructor(
    private readonly clock: Clock,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The caller a token with this SHA-256 proved before, when the answer needs no key set asked: the
   * token has not expired, and its key was found in the set its issuer's getter still answers from,
   * unchanged. Undefined otherwise, and then `lookup` decides (most requests of a repeat caller end here,
   * without the getter's asynchronous round).
   */
  known(tokenSha256: string): VerifiedCaller | undefined {
    const entry = this.#entries.get(tokenSha256);
    if (!entry || this.clock.now() >= entry.expiresAt * 1000) return undefined;
    const { keysFor, chooser, confirmedIn } = entry.signingKey;
    if (confirmedIn === undefined || keysFor(chooser)?.currentSet?.() !== confirmedIn) return undefined;
    this.#mostRecent(tokenSha256, entry);
    return entry;
  }

  /**
   * The caller a token with this SHA-256 proved before, when it has not expired and its key still
   * resolves to the same key; undefined otherwise (and a dead entry is dropped).
   */
  async lookup(tokenSha256: string): Promise<VerifiedCaller | undefined> {
    const entry = this.#entries.get(tokenSha256);
    if (!entry) return undefined;
    if (this.clock.now() >= entry.expiresAt * 1000) {
      this.#entries.delete(tokenSha256);
      return undefined;
    }
    const proof = entry.signingKey;
    let key: unknown;
    // The set before and after asking: when it is the same object both times, the answer came from it.
    let before: object | undefined;
    let after: object | undefined;
    try {
      const getter = proof.keysFor(proof.chooser);
      before = getter?.currentSet?.();
      key = await getter?.(proof.header as JWTHeaderParameters, NO_BODY);
      after = getter?.currentSet?.();
    } catch {
      key = undefined;
    }
    if (key !== proof.key) {
      this.#entries.delete(tokenSha256);
      return undefined;
    }
    proof.confirmedIn = before !== undefined && before === after ? before : undefined;
    this.#mostRecent(tokenSha256, entry);
    return entry;
  }

  #mostRecent(tokenSha256: string, entry: KeyedCaller): void {
    this.#entries.delete(tokenSha256);
    this.#entries.set(tokenSha256, entry);
  }

  /** Keeps a verified caller whose verifier said which key verified it; others are not kept. */
  remember(tokenSha256: string, verified: CachedCaller): void {
    if (!hasSigningKey(verified)) return;
    if (verified.expiresAt * 1000 <= this.clock.now()) return;
    this.#entries.delete(tokenSha256);
    this.#entries.set(tokenSha256, verified);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
