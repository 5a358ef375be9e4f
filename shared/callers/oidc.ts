// The generic `oidc` caller verifier (issue 9): any other issuer listed in configuration, with its own
// JWKS URL, algorithms and audience. The principal is the issuer, the subject, and only the claims the
// configuration lets the policy use (as strings), so a policy can never match on an unlisted claim.
import type { JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { CallerVerifier, OidcPrincipal } from './callerVerifier.js';
import { createJwtCallerVerifier, refuseCaller } from './jwtCaller.js';
import type { KeyGetter } from './verifiedTokenCache.js';

export interface OidcIssuerSettings {
  issuer: string;
  keys: KeyGetter;
  algorithms: readonly string[];
  /** The audience its tokens must carry; the broker's unless configured. */
  audience: string;
  /** Claims the policy may match on. */
  claims: readonly string[];
  maxLifetimeSeconds: number;
}

export interface OidcVerifierOptions {
  clockSkewSeconds: number;
  maxTokenBytes: number;
  clock: Clock;
}

/** One verifier per configured issuer: each has its own algorithms, audience and lifetime. */
export function createOidcVerifier(
  settings: OidcIssuerSettings,
  options: OidcVerifierOptions,
): CallerVerifier {
  return createJwtCallerVerifier<OidcPrincipal>({
    issuers: [settings.issuer],
    keysFor: () => settings.keys,
    audience: settings.audience,
    audienceName: `the audience configured for its issuer (${settings.audience})`,
    algorithms: settings.algorithms,
    typ: ['JWT'],
    typOptional: true,
    issuerName: settings.issuer,
    maxLifetimeSeconds: settings.maxLifetimeSeconds,
    clockSkewSeconds: options.clockSkewSeconds,
    maxTokenBytes: options.maxTokenBytes,
    clock: options.clock,
    principalOf(payload: JWTPayload) {
      if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 1024)
        throw refuseCaller("The subject token's 'sub' claim is missing or invalid.");
      const claims: Record<string, string> = {};
      for (const name of settings.claims) {
        const value = payload[name];
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
          claims[name] = String(value);
      }
      return { kind: 'oidc', issuer: settings.issuer, subject: payload.sub, claims };
    },
  });
}
