// Configuration of the Entra stand-in's token side: every UNCONFIRMED choice of protocols.md §A as one
// option with a documented default, resolved once into a frozen policy (documented in ./README.md).
import type { AadstsOverrides } from './aadsts.js';

/** Injectable time source. */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
}

/**
 * How the assertion's `typ` header is checked (AADSTS5002727, protocols.md §A.6, UNCONFIRMED for FIC):
 * - `whenPresent` (default): refuse only a `typ` that is present and not allowed; an absent `typ` passes.
 *   Note that Cognito's OpenID tokens carry `typ: "JWS"` (§C.3) and Microsoft lists Cognito as a supported
 *   issuer: this mode refuses them, as the observed 5002727 text says Entra does. Add `JWS` to
 *   `allowedTypValues` (or use `off`) to model a tenant that accepts them.
 * - `required`: refuse an absent `typ` too.
 * - `off`: never check.
 */
export type TypCheckMode = 'whenPresent' | 'required' | 'off';

/** The "Request to External OIDC endpoint failed." number; it changed over time (§A.5). */
export type OidcFailureCode = 501661 | 50166 | 90061;

/** `granular`: 700211/700212/700213/7002138 per mismatch; `legacy70021`: the older single 70021. */
export type FicMismatchCodes = 'granular' | 'legacy70021';

/** Code for a bad signature or a `kid` not found after refetch: 700027 (client assertion) or 50027. */
export type SignatureFailureCode = 700027 | 50027;

export interface TokenPolicyOptions {
  clock?: Clock;
  /** Fixed access-token lifetime in seconds; unset = random 3600–5400 s, as Entra does (§A.3). */
  tokenLifetimeSeconds?: number;
  typCheck?: TypCheckMode;
  /** Accepted `typ` values, compared exactly; default `JWT` and `http://openid.net/specs/jwt/1.0`. */
  allowedTypValues?: readonly string[];
  /** Tolerance for `exp`/`nbf`, seconds; default 300 (UNCONFIRMED, §A.6). */
  clockSkewSeconds?: number;
  /** Assertion `alg` values accepted; default `['RS256']` (only RS256 is tested by Microsoft, §A.6). */
  allowedAlgorithms?: readonly string[];
  /** Refuse an assertion without `kid` (AADSTS5002723); default true. */
  requireKid?: boolean;
  /** Count only JWKS keys with `use: "sig"` (Microsoft's SPIFFE tutorial); default true. */
  requireKeyUseSig?: boolean;
  /** Signing keys kept from an issuer's JWKS; default 100 (§A.6, E3). */
  maxSigningKeys?: number;
  /** Refuse a non-https issuer, discovery URL or jwks_uri; default true (OIDC Discovery, UNCONFIRMED). */
  requireHttpsIssuer?: boolean;
  /** Require discovery `issuer` to equal the token's `iss` (OIDC Discovery §4.3); default true. */
  requireDiscoveryIssuerMatch?: boolean;
  /** How long an issuer's keys are cached, seconds; default 3600 (UNCONFIRMED, §A.6). */
  jwksCacheTtlSeconds?: number;
  /** Minimum time between refetches caused by an unknown `kid`, seconds; default 30 (jose's cooldown). */
  jwksRefetchCooldownSeconds?: number;
  /** Timeout of each discovery or JWKS request, milliseconds; default 5000. */
  oidcFetchTimeoutMs?: number;
  /**
   * Where an issuer's discovery document is fetched: `{ [iss]: baseUrl }`. Only the fetch location
   * changes (`{baseUrl}/.well-known/openid-configuration`); the `iss` compared with FICs and with the
   * discovery `issuer` is never rewritten. Without an entry the issuer URL itself is used.
   */
  discoveryOverrides?: Readonly<Record<string, string>>;
  oidcFailureCode?: OidcFailureCode;
  ficMismatchCodes?: FicMismatchCodes;
  signatureFailureCode?: SignatureFailureCode;
  /** Replace `error`/status of any catalogue row (the UNCONFIRMED ones in particular). */
  aadstsOverrides?: AadstsOverrides;
  /** Separator before `Trace ID:` in error descriptions: a space (default, newer) or CRLF (older). */
  descriptionSeparator?: ' ' | '\r\n';
  /** `azpacr`/`appidacr` for a federated client; default `'2'` (certificate-like, UNCONFIRMED §A.9). */
  clientAuthMethodClaim?: '0' | '1' | '2';
  /** Body of an injected 429: plain `Too Many Requests` (default, observed) or Entra JSON (90055). */
  throttleBody?: 'text' | 'json';
  /** Decisions kept for `GET /admin/decisions`; default 200. */
  decisionLogSize?: number;
  /** Public base URL for discovery documents; default: the origin of each request. */
  baseUrl?: string;
  /** fetch used for external discovery and JWKS; the global one unless told. */
  fetch?: typeof fetch;
}

/** The resolved, frozen policy. */
export type TokenPolicy = Readonly<
  Required<Omit<TokenPolicyOptions, 'tokenLifetimeSeconds' | 'baseUrl' | 'aadstsOverrides'>> & {
    tokenLifetimeSeconds: number | undefined;
    baseUrl: string | undefined;
    aadstsOverrides: AadstsOverrides;
  }
>;

const positive = (name: string, value: number): number => {
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`entra stand-in: ${name} must be a non-negative number`);
  return value;
};

/** Applies the documented defaults and checks every number. */
export function resolveTokenPolicy(options: TokenPolicyOptions = {}): TokenPolicy {
  const lifetime = options.tokenLifetimeSeconds;
  return Object.freeze({
    clock: options.clock ?? { now: () => Date.now() },
    tokenLifetimeSeconds: lifetime === undefined ? undefined : positive('tokenLifetimeSeconds', lifetime),
    typCheck: options.typCheck ?? 'whenPresent',
    allowedTypValues: options.allowedTypValues ?? ['JWT', 'http://openid.net/specs/jwt/1.0'],
    clockSkewSeconds: positive('clockSkewSeconds', options.clockSkewSeconds ?? 300),
    allowedAlgorithms: options.allowedAlgorithms ?? ['RS256'],
    requireKid: options.requireKid ?? true,
    requireKeyUseSig: options.requireKeyUseSig ?? true,
    maxSigningKeys: positive('maxSigningKeys', options.maxSigningKeys ?? 100),
    requireHttpsIssuer: options.requireHttpsIssuer ?? true,
    requireDiscoveryIssuerMatch: options.requireDiscoveryIssuerMatch ?? true,
    jwksCacheTtlSeconds: positive('jwksCacheTtlSeconds', options.jwksCacheTtlSeconds ?? 3600),
    jwksRefetchCooldownSeconds: positive(
      'jwksRefetchCooldownSeconds',
      options.jwksRefetchCooldownSeconds ?? 30,
    ),
    oidcFetchTimeoutMs: positive('oidcFetchTimeoutMs', options.oidcFetchTimeoutMs ?? 5000),
    discoveryOverrides: options.discoveryOverrides ?? {},
    oidcFailureCode: options.oidcFailureCode ?? 501661,
    ficMismatchCodes: options.ficMismatchCodes ?? 'granular',
    signatureFailureCode: options.signatureFailureCode ?? 700027,
    aadstsOverrides: options.aadstsOverrides ?? {},
    descriptionSeparator: options.descriptionSeparator ?? ' ',
    clientAuthMethodClaim: options.clientAuthMethodClaim ?? '2',
    throttleBody: options.throttleBody ?? 'text',
    decisionLogSize: positive('decisionLogSize', options.decisionLogSize ?? 200),
    baseUrl: options.baseUrl?.replace(/\/$/, ''),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
  });
}
