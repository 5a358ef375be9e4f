// The token exchange decision, top to bottom: request checks → assertion structure → Entra-issuer rules →
// lifetime and validity → FIC match → issuer's OIDC keys and signature → mint. The order is documented
// in ./README.md ("Order of checks"); each step's codes come from protocols.md §A.5, §A.6.

import { type MintedToken, mintAccessToken } from './accessToken.js';
import { checkValidity, type DecodedAssertion, decodeAssertion, type Refusal } from './assertion.js';
import {
  checkEntraIssuedAssertion,
  isEntraIssuer,
  TOKEN_EXCHANGE_AUDIENCE,
  TOKEN_EXCHANGE_AUDIENCES,
} from './entraIssued.js';
import type { ExternalKeyResolver } from './externalKeys.js';
import { type FicExpressionEvaluator, matchFederatedCredential } from './ficMatch.js';
import type { DirectoryReader } from './model.js';
import type { TokenPolicy } from './options.js';
import type { EntraKeySet } from './signingKeys.js';
import { type EndpointVersion, type ValidatedTokenRequest, validateTokenRequest } from './tokenRequest.js';

/** Everything the exchange needs; built once per stand-in. */
export interface ExchangeDeps {
  directory: DirectoryReader;
  keys: EntraKeySet;
  policy: TokenPolicy;
  resolver: ExternalKeyResolver;
  evaluateFic: FicExpressionEvaluator;
}

export type ExchangeResult =
  | { ok: true; request: ValidatedTokenRequest; token: MintedToken; assertion: DecodedAssertion }
  | { ok: false; refusal: Refusal; tenantId?: string; assertion?: DecodedAssertion };

/** Runs every check for one token request and mints the token when all pass. */
export async function exchangeAssertion(
  form: URLSearchParams,
  pathTenant: string,
  endpoint: EndpointVersion,
  deps: ExchangeDeps,
): Promise<ExchangeResult> {
  const { policy } = deps;
  const validated = validateTokenRequest(form, pathTenant, endpoint, deps.directory);
  if (!validated.ok) return { ok: false, refusal: validated.refusal };
  const request = validated.request;
  const tenantId = request.tenant.id;

  const decoded = decodeAssertion(request.assertion, policy);
  if (!decoded.ok) return { ok: false, refusal: decoded.refusal, tenantId };
  const assertion = decoded.assertion;
  const refused = (refusal: Refusal): ExchangeResult => ({ ok: false, refusal, tenantId, assertion });

  // Entra-issued assertions are refused unless they are the MI-as-credential case, checked on own keys.
  const entraIssued = isEntraIssuer(assertion.iss);
  if (entraIssued) {
    const refusal = await checkEntraIssuedAssertion(
      {
        raw: request.assertion,
        assertion,
        client: request.client,
        tenantId,
        directory: deps.directory,
        keys: deps.keys,
      },
      policy.signatureFailureCode,
    );
    if (refusal) return refused(refusal);
  }

  const invalid = checkValidity(assertion, policy, policy.clock.now());
  if (invalid) return refused(invalid);

  const match = matchFederatedCredential(request.client.federatedIdentityCredentials, assertion, {
    mode: policy.ficMismatchCodes,
    evaluate: deps.evaluateFic,
    // An MI token for the exchange resource may carry the app id instead of the URI the FIC names.
    audienceAliases: entraIssued ? { [TOKEN_EXCHANGE_AUDIENCE]: TOKEN_EXCHANGE_AUDIENCES } : {},
  });
  if (!match.ok) return refused(match.refusal);

  // Only now is the issuer contacted: Entra fetches discovery for issuers a FIC names (§A.6, E9).
  if (!entraIssued) {
    const failure = await deps.resolver.verify(request.assertion, assertion);
    if (failure?.kind === 'oidc') return refused({ code: policy.oidcFailureCode });
    if (failure) {
      return refused(
        policy.signatureFailureCode === 700027
          ? { code: 700027, params: { reason: failure.reason } }
          : { code: 50027 },
      );
    }
  }

  const token = await mintAccessToken({ ...request, tenantId }, deps.directory, deps.keys, policy);
  return { ok: true, request, token, assertion };
}
