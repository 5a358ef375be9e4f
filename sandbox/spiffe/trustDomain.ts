// One SPIRE trust domain's JWT signing state, as a SPIRE server holds it: keys, rotation, JWT-SVID minting.
// Built on the generic stand-in issuer (sandbox/lib/oidcIssuer.ts) for its in-memory keys and raw signer.
import type { JWK } from 'jose';
import {
  type AddKeyOptions,
  createOidcIssuer,
  type IssuerAlgorithm,
  type SignRawOptions,
} from '../lib/oidcIssuer.js';
import { assertTrustDomainName } from './spiffeId.js';

/** SPIRE's `jwt_key_type` values (doc/spire_server.md); `ec-p256` is the default `ca_key_type`. */
export type JwtKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-4096';

export interface SpireTrustDomainOptions {
  /** The trust domain name, e.g. `example.org` (lowercase letters, digits, `.`, `-`, `_`). */
  name: string;
  /** Key type of the JWT signing keys; `ec-p256` unless told, as SPIRE's default (ES256, which Entra refuses). */
  jwtKeyType?: JwtKeyType;
  /** SPIRE server's `jwt_issuer`: when set, every JWT-SVID carries it as `iss`; no `iss` otherwise. */
  jwtIssuer?: string;
  /** SPIRE server's `default_jwt_svid_ttl`, in seconds; 300 (5m) unless told. */
  svidTtlSeconds?: number;
  /** `spiffe_refresh_hint` of `spiffeBundle()`, in seconds; 300 unless told (SPIRE's bundle endpoint default). */
  refreshHintSeconds?: number;
}

/** A JWT-SVID as minted, with what a test needs to check it. */
export interface MintedSvid {
  token: string;
  kid: string;
  /** `iat` and `exp`, in seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

/** What a SPIRE server knows of one trust domain's JWT keys; agents and the OIDC provider share one. */
export interface SpireTrustDomain {
  readonly name: string;
  /** The trust domain's SPIFFE ID, `spiffe://<name>`: the key of its bundle in `JWTBundlesResponse`. */
  readonly id: string;
  readonly jwtKeyType: JwtKeyType;
  readonly jwtIssuer: string | undefined;
  readonly svidTtlSeconds: number;
  /** Key id of the key new JWT-SVIDs are signed with. */
  readonly activeKid: string;
  /** Bumped on every change of the published keys (the `spiffe_sequence` of `spiffeBundle()`). */
  readonly sequence: number;
  /** When the published keys last changed (the OIDC provider's `Last-Modified`). */
  readonly changedAt: Date;
  /**
   * Prepares and activates a new JWT key of the domain's type. The previous key stays published (SPIRE
   * keeps it until it expires) unless `retirePrevious`, which also stops agents serving SVIDs it signed.
   */
  rotate(options?: { retirePrevious?: boolean }): Promise<{ kid: string; retiredKid?: string }>;
  /** Adds a key as the issuer's `addKey` does (odd keys for tests) and tells subscribers. */
  addKey(options?: AddKeyOptions): Promise<string>;
  /** Stops publishing a key; it can still sign, forging SVIDs no bundle verifies. Tells subscribers. */
  unpublishKey(kid: string): void;
  /** The JWT bundle as a standard JWK Set: `kty`, `kid` and key members, no `use`, no `alg`, no SPIFFE members. */
  jwks(): { keys: JWK[] };
  /** The SPIFFE bundle form (JWT keys only): `use: "jwt-svid"`, `spiffe_sequence`, `spiffe_refresh_hint`. */
  spiffeBundle(): { keys: JWK[]; spiffe_sequence: number; spiffe_refresh_hint: number };
  /**
   * Mints a JWT-SVID as SPIRE's server does: header `{alg, kid, typ: "JWT"}`, claims `aud` (always an array),
   * `exp` = `iat` + TTL, `iat`, `iss` when `jwtIssuer` is set, `sub`. The SPIFFE ID is not checked here.
   */
  mintSvid(spiffeId: string, audience: readonly string[], nowSeconds: number): MintedSvid;
  /** Signs any header and payload with one of the domain's keys (see `SignRawOptions`); nothing is checked. */
  signRaw(options: SignRawOptions): string;
  /** Calls `listener` after every change of the published keys; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

const KEY_TYPES: Readonly<Record<JwtKeyType, { alg: IssuerAlgorithm; modulusLength?: number }>> = {
  'ec-p256': { alg: 'ES256' },
  'ec-p384': { alg: 'ES384' },
  'rsa-2048': { alg: 'RS256', modulusLength: 2048 },
  'rsa-4096': { alg: 'RS256', modulusLength: 4096 },
};

const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** pkg/server/ca/manager/manager.go newKeyID: 32 random letters and digits (byte modulo 62, as SPIRE does). */
const newKeyId = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (byte) => KEY_ID_ALPHABET[byte % 62]).join('');

const positiveSeconds = (value: number | undefined, fallback: number, option: string): number => {
  const seconds = value ?? fallback;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new Error(`${option} must be a positive integer`);
  return seconds;
};

/** Creates a trust domain with one active JWT key of its type; throws naming the option that is wrong. */
export async function createSpireTrustDomain(options: SpireTrustDomainOptions): Promise<SpireTrustDomain> {
  assertTrustDomainName(options.name);
  const jwtKeyType = options.jwtKeyType ?? 'ec-p256';
  const keyType = KEY_TYPES[jwtKeyType];
  if (!keyType) throw new Error(`jwtKeyType must be one of ${Object.keys(KEY_TYPES).join(', ')}`);
  const svidTtlSeconds = positiveSeconds(options.svidTtlSeconds, 300, 'svidTtlSeconds');
  const refreshHintSeconds = positiveSeconds(options.refreshHintSeconds, 300, 'refreshHintSeconds');
  const id = `spiffe://${options.name}`;
  // The issuer's own discovery app is never served; only its keys and signer are used.
  const keys = await createOidcIssuer({
    issuer: options.jwtIssuer ?? id,
    algorithm: keyType.alg,
    publishKeyUse: false,
  });
  const addSpireKey = () =>
    keys.addKey({ alg: keyType.alg, modulusLength: keyType.modulusLength, kid: newKeyId(), activate: true });
  // The issuer's first key has the issuer's kind of kid (and, if RSA, 2048 bits): SPIRE's replaces it.
  const first = keys.activeKid;
  await addSpireKey();
  keys.unpublishKey(first);
  const listeners = new Set<() => void>();
  let sequence = 1;
  let changedAt = new Date();

  const changed = (): void => {
    sequence += 1;
    changedAt = new Date();
    for (const listener of [...listeners]) listener();
  };

  // go-jose marshals a bundle's public keys without `alg` (bundleutil.Marshal); `use` is added per form.
  const jwks = (): { keys: JWK[] } => ({ keys: keys.jwks().keys.map(({ alg: _alg, ...jwk }) => jwk) });

  return {
    name: options.name,
    id,
    jwtKeyType,
    jwtIssuer: options.jwtIssuer,
    svidTtlSeconds,
    get activeKid() {
      return keys.activeKid;
    },
    get sequence() {
      return sequence;
    },
    get changedAt() {
      return changedAt;
    },
    async rotate(rotateOptions = {}) {
      const previous = keys.activeKid;
      const kid = await addSpireKey();
      if (rotateOptions.retirePrevious) keys.unpublishKey(previous);
      changed();
      return rotateOptions.retirePrevious ? { kid, retiredKid: previous } : { kid };
    },
    async addKey(add = {}) {
      const kid = await keys.addKey(add);
      changed();
      return kid;
    },
    unpublishKey(kid) {
      keys.unpublishKey(kid);
      changed();
    },
    jwks,
    spiffeBundle: () => ({
      keys: jwks().keys.map((jwk) => ({ use: 'jwt-svid', ...jwk })),
      spiffe_sequence: sequence,
      spiffe_refresh_hint: refreshHintSeconds,
    }),
    mintSvid(spiffeId, audience, nowSeconds) {
      const kid = keys.activeKid;
      const expiresAt = nowSeconds + svidTtlSeconds;
      // pkg/server/credtemplate/builder.go BuildWorkloadJWTSVIDClaims: `aud` is the []string as requested
      // (empty values dropped), so JSON gives an array even for one audience; `iss` only with jwt_issuer.
      // Members in Go's sorted map order, as SPIRE's JSON has them.
      const claims = {
        aud: audience.filter((value) => value !== ''),
        exp: expiresAt,
        iat: nowSeconds,
        ...(options.jwtIssuer === undefined ? {} : { iss: options.jwtIssuer }),
        sub: spiffeId,
      };
      // pkg/server/ca/ca.go signJWTSVID: go-jose signer with the key's kid and WithType("JWT").
      const token = keys.signRaw({ claims, kid });
      return { token, kid, issuedAt: nowSeconds, expiresAt };
    },
    signRaw: (raw) => keys.signRaw(raw),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
