// Verifies Key Vault bearer tokens against the Entra stand-in's published keys, fetched over https with
// jose's remote JWKS (never Entra's own code: the vault is an independent witness, broker.md).
import { compactVerify, createRemoteJWKSet, errors as joseErrors } from 'jose';
import { claimsObject, textClaim } from '../lib/jwsClaims.js';
import type { ResolvedKeyVaultOptions } from './options.js';
import { tokenRefusals, type VaultRefusal } from './vaultErrors.js';

/** Who called, as the verified token says. */
export interface VaultCaller {
  /** `oid`: the service principal's or managed identity's object id. */
  objectId: string;
  /** `appid` (v1) or `azp` (v2); empty when the token has neither. */
  appId: string;
  /** `iss` as issued. */
  issuer: string;
}

export type BearerResult = { ok: true; caller: VaultCaller } | { ok: false; refusal: VaultRefusal };

/** Checks an Authorization header value; resolves with the caller or Key Vault's 401. */
export type BearerVerifier = (header: string | undefined) => Promise<BearerResult>;

const BEARER = /^bearer +(\S+) *$/i;

/**
 * Builds the verifier. Order (the first failure answers): header present and `Bearer <token>` → key
 * resolution and RS256 signature → lifetime (`exp`, `nbf`, with the skew) → audience → issuer. The last three
 * follow IdentityModel's validation order (lifetime, audience, issuer), which Key Vault presumably uses
 * (UNCONFIRMED). Preconditions: nothing in the token is trusted before its signature verifies.
 */
export function createBearerVerifier(options: ResolvedKeyVaultOptions): BearerVerifier {
  // Entra rotates keys: an unknown kid refetches the set, at most once per cooldown (jose's default 30 s).
  const keys = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5000 });
  const fail = (refusal: VaultRefusal): BearerResult => ({ ok: false, refusal });

  return async (header) => {
    const token = header === undefined ? undefined : BEARER.exec(header.trim())?.[1];
    // A PoP scheme or any other is treated as absent: the stand-in models Bearer only.
    if (token === undefined) return fail(tokenRefusals.missing());
    const encodedHeader = token.split('.')[0] ?? '';

    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, keys, { algorithms: ['RS256'] }));
    } catch (error) {
      return fail(
        isKeyResolutionFailure(error) ? tokenRefusals.unresolvedKey(encodedHeader) : tokenRefusals.invalid(),
      );
    }
    const claims = parseClaims(payload);
    if (!claims) return fail(tokenRefusals.invalid());

    const now = Math.floor(options.clock.now() / 1000);
    if (now >= claims.exp + options.clockSkewSeconds) return fail(tokenRefusals.expired());
    if (claims.nbf !== undefined && now + options.clockSkewSeconds < claims.nbf) {
      return fail(tokenRefusals.notYetValid());
    }
    if (!claims.aud.some((aud) => options.audiences.includes(aud))) {
      return fail(tokenRefusals.audience(options.audiences.join(', '), claims.aud.join(', ')));
    }
    if (!options.issuers.includes(claims.iss)) return fail(tokenRefusals.issuer(options.issuers, claims.iss));
    return {
      ok: true,
      caller: { objectId: claims.oid, appId: claims.appid ?? claims.azp ?? '', issuer: claims.iss },
    };
  };
}

// No key with this kid after a refetch, or the key set could not be fetched or parsed (jose's generic error
// is its "Expected 200 OK" for the JWKS): Key Vault answers AKV10046 ("Unable to resolve the key") for both,
// as the intermittent reports of its own key-fetch failures show.
const KEY_RESOLUTION_CODES = [
  joseErrors.JWKSNoMatchingKey.code,
  joseErrors.JWKSMultipleMatchingKeys.code,
  joseErrors.JWKSInvalid.code,
  joseErrors.JWKSTimeout.code,
  joseErrors.JOSEError.code,
];

function isKeyResolutionFailure(error: unknown): boolean {
  if (!(error instanceof joseErrors.JOSEError)) return true; // fetch itself failed
  return KEY_RESOLUTION_CODES.includes(error.code);
}

interface AccessTokenClaims {
  iss: string;
  aud: string[];
  oid: string;
  exp: number;
  nbf: number | undefined;
  appid: string | undefined;
  azp: string | undefined;
}

function parseClaims(payload: Uint8Array): AccessTokenClaims | undefined {
  const json = claimsObject(payload);
  if (!json) return undefined;
  const text = (name: string) => textClaim(json, name);
  // RFC 7519 §4.1.3: `aud` is a string or an array of strings; any accepted member suffices.
  const aud = typeof json.aud === 'string' ? [json.aud] : Array.isArray(json.aud) ? json.aud : [];
  const audiences = aud.filter((value): value is string => typeof value === 'string');
  const { iss, oid, exp, nbf } = { iss: text('iss'), oid: text('oid'), exp: json.exp, nbf: json.nbf };
  if (iss === undefined || oid === undefined || audiences.length === 0) return undefined;
  if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) return undefined;
  return { iss, aud: audiences, oid, exp, nbf, appid: text('appid'), azp: text('azp') };
}
