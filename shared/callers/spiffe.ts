// The `spiffe` caller verifier (issue 9; protocols.md §D.1): a JWT-SVID, checked as the spec asks
// (algorithms RS*/ES*/PS*, only `alg`, `kid`, `typ` in the header, `aud` required, `sub` a valid SPIFFE
// ID) against the key set of its trust domain, configured per trust domain: an allow-list, so an SVID
// of any other trust domain is refused without a fetch. ES256 is fine here: the broker verifies it.
import type { JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { CallerVerifier, SpiffePrincipal } from './callerVerifier.js';
import { createJwtCallerVerifier, refuseCaller } from './jwtCaller.js';
import { parseSpiffeId } from './spiffeId.js';
import type { KeyGetter } from './verifiedTokenCache.js';

/** One trusted trust domain: where its JWT keys come from, and the `iss` its SVIDs carry, if any. */
export interface SpiffeTrustDomain {
  trustDomain: string;
  keys: KeyGetter;
  /** SPIRE's `jwt_issuer`, when set; SVIDs without `iss` are matched by their `sub` instead. */
  issuer?: string;
}

export interface SpiffeVerifierOptions {
  trustDomains: readonly SpiffeTrustDomain[];
  /** The broker's audience. */
  audience: string;
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  maxTokenBytes: number;
  clock: Clock;
}

/** The algorithms the JWT-SVID spec allows; validators must reject others (protocols.md §D.1). */
export const JWT_SVID_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
];

/** Builds the verifier for the configured trust domains. */
export function createSpiffeVerifier(options: SpiffeVerifierOptions): CallerVerifier {
  const byDomain = new Map(options.trustDomains.map((entry) => [entry.trustDomain, entry]));
  const byIssuer = new Map(
    options.trustDomains.flatMap((entry) => (entry.issuer ? [[entry.issuer, entry]] : [])),
  );
  return createJwtCallerVerifier<SpiffePrincipal>({
    issuers: [...byIssuer.keys()],
    issuerless: (unverified) => byDomain.has(parseSpiffeId(unverified.sub)?.trustDomain ?? ''),
    keysFor(unverified) {
      const trustDomain = parseSpiffeId(unverified.sub)?.trustDomain;
      const entry =
        typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : byDomain.get(trustDomain ?? '');
      // A trust domain's keys only ever verify SVIDs whose `sub` is in that trust domain.
      return entry && entry.trustDomain === trustDomain ? entry.keys : undefined;
    },
    audience: options.audience,
    algorithms: JWT_SVID_ALGORITHMS,
    typ: ['JWT', 'JOSE'],
    typOptional: true,
    headerParameters: ['alg', 'kid', 'typ'],
    issuerName: 'a SPIFFE trust domain this broker trusts',
    maxLifetimeSeconds: options.maxLifetimeSeconds,
    clockSkewSeconds: options.clockSkewSeconds,
    maxTokenBytes: options.maxTokenBytes,
    clock: options.clock,
    principalOf(payload: JWTPayload) {
      const id = parseSpiffeId(payload.sub);
      if (!id || id.path === '')
        throw refuseCaller("The subject token's 'sub' is not a workload's SPIFFE ID.");
      return { kind: 'spiffe', subject: payload.sub as string, trustDomain: id.trustDomain, path: id.path };
    },
  });
}
