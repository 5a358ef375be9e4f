// Parses an RFC 8693 token-exchange request (broker.md, public contract) into a typed request, or
// refuses it with the contract's error. Nothing here has verified the subject token.
import { BrokerError } from '../errors.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Subject token types the contract names; JWT types are verified as JWTs. */
export const JWT_TOKEN_TYPES = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
];
export const AWS_TOKEN_TYPE = 'urn:ietf:params:aws:token-type:aws4_request';

export interface TokenExchangeRequest {
  subjectToken: string;
  subjectTokenType: string;
  /** The target's name in the policy. */
  audience: string;
  /** One Entra scope, or undefined to use the target's only scope. */
  scope: string | undefined;
}

const KNOWN_PARAMETERS = new Set([
  'grant_type',
  'subject_token',
  'subject_token_type',
  'audience',
  'scope',
  'resource',
  'requested_token_type',
  'actor_token',
  'actor_token_type',
]);

const invalid = (description: string) => new BrokerError('invalid_request', 400, description);

/** Validates the form parameters of POST /api/token. */
export function parseTokenRequest(form: URLSearchParams): TokenExchangeRequest {
  // RFC 6749 §3.2: parameters MUST NOT be included more than once.
  const repeated = [...new Set(form.keys())].find(
    (name) => name !== 'audience' && form.getAll(name).length > 1,
  );
  if (repeated !== undefined) {
    // Name only parameters of the contract: anything else is the caller's text, not ours to echo.
    const named = KNOWN_PARAMETERS.has(repeated) ? `The parameter '${repeated}'` : 'A parameter';
    throw invalid(`${named} is given more than once.`);
  }

  const grantType = form.get('grant_type');
  if (!grantType) throw invalid("The parameter 'grant_type' is required.");
  if (grantType !== TOKEN_EXCHANGE_GRANT) {
    throw new BrokerError(
      'unsupported_grant_type',
      400,
      `Only the grant type ${TOKEN_EXCHANGE_GRANT} is supported.`,
    );
  }
  const subjectToken = form.get('subject_token');
  if (!subjectToken) throw invalid("The parameter 'subject_token' is required.");
  const subjectTokenType = form.get('subject_token_type');
  if (!subjectTokenType) throw invalid("The parameter 'subject_token_type' is required.");
  if (subjectTokenType === AWS_TOKEN_TYPE) {
    throw invalid(`The subject_token_type ${AWS_TOKEN_TYPE} is not supported by this broker yet.`);
  }
  if (!JWT_TOKEN_TYPES.includes(subjectTokenType)) {
    throw invalid(`The subject_token_type must be one of ${JWT_TOKEN_TYPES.join(', ')}.`);
  }
  if (form.has('actor_token') || form.has('actor_token_type'))
    throw invalid('Actor tokens are not supported.');
  if (form.has('resource')) throw invalid("Name the target with 'audience'; 'resource' is not supported.");
  const requested = form.get('requested_token_type');
  if (requested !== null && requested !== ACCESS_TOKEN_TYPE) {
    throw invalid(`The only requested_token_type issued is ${ACCESS_TOKEN_TYPE}.`);
  }
  const audiences = form.getAll('audience');
  if (audiences.length === 0 || audiences[0] === '') {
    throw invalid("The parameter 'audience' (the target name in the policy) is required.");
  }
  if (audiences.length > 1)
    throw new BrokerError('invalid_target', 400, 'Exactly one audience (target) may be requested.');
  const scopeParam = form.get('scope');
  const scopes = scopeParam === null ? [] : scopeParam.split(' ').filter(Boolean);
  if (scopes.length > 1) {
    throw new BrokerError(
      'invalid_scope',
      400,
      'Exactly one scope may be requested: Entra issues one resource per token.',
    );
  }
  return { subjectToken, subjectTokenType, audience: audiences[0] as string, scope: scopes[0] };
}
