// Matches a decoded assertion against a client's federated identity credentials: issuer, then audience,
// then subject (or a flexible FIC's expression), exact and case-sensitive (entra-federation.md; §A.6, §A.7).
import type { DecodedAssertion, Refusal } from './assertion.js';
import type { FederatedIdentityCredential } from './model.js';
import type { FicMismatchCodes } from './options.js';

/** Evaluates a flexible FIC expression (languageVersion 1) against the assertion's claims. */
export type FicExpressionEvaluator = (value: string, claims: Readonly<Record<string, unknown>>) => boolean;

export interface FicMatchOptions {
  mode: FicMismatchCodes;
  evaluate: FicExpressionEvaluator;
  /**
   * Audience values that count as equal to a FIC audience, e.g. the token-exchange app id for
   * `api://AzureADTokenExchange` on Entra-issued assertions. Empty for external issuers.
   */
  audienceAliases?: Readonly<Record<string, readonly string[]>>;
}

export type FicMatchResult = { ok: true; fic: FederatedIdentityCredential } | { ok: false; refusal: Refusal };

const shown = (aud: readonly string[]): string => aud.join(',');

/**
 * Finds the FIC that accepts the assertion. Which code wins when several parts fail: no FIC with this
 * issuer → 700211; issuer matches but no audience → 700212; issuer and audience match but no subject →
 * 7002138 when one exact subject equals `sub` ignoring case, else 700213. In `legacy70021` mode every
 * mismatch is the older 70021, which names all three values.
 */
export function matchFederatedCredential(
  fics: readonly FederatedIdentityCredential[],
  assertion: DecodedAssertion,
  options: FicMatchOptions,
): FicMatchResult {
  const audienceMatches = (fic: FederatedIdentityCredential): boolean =>
    fic.audiences.some(
      (expected) =>
        assertion.aud.includes(expected) ||
        (options.audienceAliases?.[expected] ?? []).some((alias) => assertion.aud.includes(alias)),
    );
  const byIssuer = fics.filter((fic) => fic.issuer === assertion.iss);
  const byAudience = byIssuer.filter(audienceMatches);
  const match = byAudience.find((fic) =>
    fic.subject !== null
      ? fic.subject === assertion.sub
      : fic.claimsMatchingExpression !== null &&
        options.evaluate(fic.claimsMatchingExpression.value, assertion.claims),
  );
  if (match) return { ok: true, fic: match };

  if (options.mode === 'legacy70021') {
    return {
      ok: false,
      refusal: {
        code: 70021,
        params: { issuer: assertion.iss, subject: assertion.sub, audience: shown(assertion.aud) },
      },
    };
  }
  if (byIssuer.length === 0)
    return { ok: false, refusal: { code: 700211, params: { issuer: assertion.iss } } };
  if (byAudience.length === 0) {
    return { ok: false, refusal: { code: 700212, params: { audience: shown(assertion.aud) } } };
  }
  const lowerSub = assertion.sub.toLowerCase();
  const caseOnly = byAudience.some((fic) => fic.subject !== null && fic.subject.toLowerCase() === lowerSub);
  return { ok: false, refusal: { code: caseOnly ? 7002138 : 700213, params: { subject: assertion.sub } } };
}
