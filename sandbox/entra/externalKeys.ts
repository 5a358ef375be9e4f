// Verifies an external issuer's assertion the way Entra does: OIDC discovery at `{issuer}/.well-known/
// openid-configuration` (through the discovery override map), its jwks_uri, only the first 100 signing
// keys, a per-issuer cache and a rate-limited refetch on an unknown `kid` (protocols.md §A.6, E3, E9).
import { compactVerify, importJWK, type JWK } from 'jose';
import type { DecodedAssertion } from './assertion.js';
import type { TokenPolicy } from './options.js';

/** Why verification failed: the issuer's endpoints (`oidc`), or the key/signature (`signature`). */
export type ExternalVerifyFailure = { kind: 'oidc' | 'signature'; reason: string };

interface CacheEntry {
  keys: JWK[];
  /** Epoch milliseconds of the last successful fetch. */
  fetchedAt: number;
}

/** Thrown inside the fetch path; its message is a fixed reason, never a body or a full URL with a query. */
class OidcFetchError extends Error {
  override readonly name = 'OidcFetchError';
}

const MAX_DOCUMENT_BYTES = 512 * 1024;

/** Discovery and JWKS fetching with a per-issuer cache; one instance per stand-in. */
export class ExternalKeyResolver {
  readonly #policy: TokenPolicy;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<CacheEntry>>();
  readonly #overrides: Map<string, string>;
  /** Discovery + JWKS fetch pairs started, per issuer (for the admin API and tests). */
  readonly fetchCounts = new Map<string, number>();

  constructor(policy: TokenPolicy) {
    this.#policy = policy;
    this.#overrides = new Map(Object.entries(policy.discoveryOverrides));
  }

  /**
   * Sets (or, with undefined, removes) where `issuer`'s discovery document is fetched from: only the
   * fetch location changes, never the `iss` compared with FICs and with the discovery `issuer`.
   */
  setDiscoveryOverride(issuer: string, baseUrl: string | undefined): void {
    if (baseUrl === undefined) this.#overrides.delete(issuer);
    else this.#overrides.set(issuer, baseUrl);
    this.#cache.delete(issuer);
  }

  /** The current discovery override map, `{ [iss]: baseUrl }`. */
  discoveryOverrides(): Record<string, string> {
    return Object.fromEntries(this.#overrides);
  }

  /** Forgets every cached key set. */
  clear(): void {
    this.#cache.clear();
  }

  /**
   * Verifies the assertion's signature with the issuer's published key. The caller has already matched a
   * FIC for `assertion.iss`: Entra only contacts issuers a credential names, never one a token names.
   */
  async verify(raw: string, assertion: DecodedAssertion): Promise<ExternalVerifyFailure | undefined> {
    let entry: CacheEntry;
    try {
      entry = await this.#keysFor(assertion.iss, false);
    } catch (error) {
      return { kind: 'oidc', reason: error instanceof OidcFetchError ? error.message : 'fetch failed' };
    }
    let jwk = this.#select(entry.keys, assertion);
    const now = this.#policy.clock.now();
    if (!jwk && now - entry.fetchedAt >= this.#policy.jwksRefetchCooldownSeconds * 1000) {
      // Unknown kid: the issuer may have rotated. Refetch, but at most once per cooldown per issuer.
      try {
        entry = await this.#keysFor(assertion.iss, true);
      } catch (error) {
        return { kind: 'oidc', reason: error instanceof OidcFetchError ? error.message : 'fetch failed' };
      }
      jwk = this.#select(entry.keys, assertion);
    }
    if (!jwk)
      return { kind: 'signature', reason: `The key was not found., Key ID: '${assertion.kid ?? ''}'` };
    // RFC 8725 §3.1: a key is used with one algorithm only; a JWK naming another alg cannot verify.
    if (jwk.alg !== undefined && jwk.alg !== assertion.alg) {
      return { kind: 'signature', reason: 'The key does not match the signing algorithm.' };
    }
    try {
      const key = await importJWK({ ...jwk, ext: true }, assertion.alg);
      await compactVerify(raw, key, { algorithms: [...this.#policy.allowedAlgorithms] });
      return undefined;
    } catch {
      return { kind: 'signature', reason: 'The signature is invalid.' };
    }
  }

  #select(keys: readonly JWK[], assertion: DecodedAssertion): JWK | undefined {
    if (assertion.kid !== undefined) return keys.find((key) => key.kid === assertion.kid);
    // Without a kid (only when requireKid is off) a single key of the right type is unambiguous.
    const kty = assertion.alg.startsWith('ES') ? 'EC' : 'RSA';
    const candidates = keys.filter((key) => key.kty === kty);
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  async #keysFor(issuer: string, forceRefresh: boolean): Promise<CacheEntry> {
    const cached = this.#cache.get(issuer);
    const fresh =
      cached && this.#policy.clock.now() - cached.fetchedAt < this.#policy.jwksCacheTtlSeconds * 1000;
    if (cached && fresh && !forceRefresh) return cached;
    const pending = this.#inFlight.get(issuer);
    if (pending) return pending;
    const started = this.#fetchKeys(issuer).then(
      (entry) => {
        this.#cache.set(issuer, entry);
        return entry;
      },
      (error: unknown) => {
        // A failed refresh fails the exchange; the stand-in does not serve stale keys (UNCONFIRMED, §A.6).
        this.#cache.delete(issuer);
        throw error;
      },
    );
    this.#inFlight.set(issuer, started);
    try {
      return await started;
    } finally {
      this.#inFlight.delete(issuer);
    }
  }

  async #fetchKeys(issuer: string): Promise<CacheEntry> {
    this.fetchCounts.set(issuer, (this.fetchCounts.get(issuer) ?? 0) + 1);
    const policy = this.#policy;
    if (policy.requireHttpsIssuer && !issuer.startsWith('https://'))
      throw new OidcFetchError('issuer is not https');
    // OIDC Discovery §4: a terminating "/" of the issuer is removed before appending the well-known path.
    const base = (this.#overrides.get(issuer) ?? issuer).replace(/\/+$/, '');
    const discovery = await this.#getJson(`${base}/.well-known/openid-configuration`, 'discovery');
    if (policy.requireDiscoveryIssuerMatch && discovery.issuer !== issuer) {
      throw new OidcFetchError('discovery issuer does not equal the token issuer');
    }
    if (typeof discovery.jwks_uri !== 'string') throw new OidcFetchError('discovery has no jwks_uri');
    const jwks = await this.#getJson(discovery.jwks_uri, 'jwks');
    if (!Array.isArray(jwks.keys)) throw new OidcFetchError('jwks has no keys array');
    const signingKeys = (jwks.keys as unknown[]).filter(
      (key): key is JWK =>
        typeof key === 'object' &&
        key !== null &&
        ((key as JWK).use === 'sig' || ((key as JWK).use === undefined && !policy.requireKeyUseSig)),
    );
    // Entra keeps only the first 100 signing keys it downloads (E3): key #101 never verifies.
    return { keys: signingKeys.slice(0, policy.maxSigningKeys), fetchedAt: policy.clock.now() };
  }

  async #getJson(url: string, what: 'discovery' | 'jwks'): Promise<Record<string, unknown>> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OidcFetchError(`${what} URL is invalid`);
    }
    if (this.#policy.requireHttpsIssuer && parsed.protocol !== 'https:') {
      throw new OidcFetchError(`${what} URL is not https`);
    }
    let response: Response;
    try {
      response = await this.#policy.fetch(parsed, {
        redirect: 'manual',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#policy.oidcFetchTimeoutMs),
      });
    } catch {
      throw new OidcFetchError(`${what} unreachable`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new OidcFetchError(`${what} answered HTTP ${response.status}`);
    }
    const text = await response.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new OidcFetchError(`${what} too large`);
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error('not an object');
      return value as Record<string, unknown>;
    } catch {
      throw new OidcFetchError(`${what} is not a JSON object`);
    }
  }
}
