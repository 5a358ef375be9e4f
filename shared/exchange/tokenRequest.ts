// Parses an RFC 8693 token-exchange request (broker.md, public contract) into a typed request, or
// refuses it with the contract's error. Every step is linear in the body size and runs before any
// verification (issue 7). Nothing here has verified the subject token.
import { Buffer } from 'node:buffer';
import { AWS_SUBJECT_TOKEN_TYPE } from '../client/awsRequestFormat.js';
import { BrokerError } from '../errors.js';
import { TARGET_NAME } from '../policy.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Subject token types the contract names; JWT types are verified as JWTs. */
export const JWT_TOKEN_TYPES = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
];
/** A signed AWS request (sts:GetCallerIdentity), serialised as Google's STS takes it (protocols.md §C.4). */
export const AWS_TOKEN_TYPE = AWS_SUBJECT_TOKEN_TYPE;
const SUBJECT_TOKEN_TYPES = [...JWT_TOKEN_TYPES, AWS_TOKEN_TYPE];

/** Request-abuse limits of POST /api/token, enforced before any parsing of the token (README, Abuse limits). */
export const TOKEN_REQUEST_LIMITS = {
  /** Largest request body, in bytes: a form with one capped token fits easily. */
  bodyBytes: 65_536,
  /** Most `name=value` pairs in the body: the contract has nine names, each allowed once. */
  parameters: 16,
} as const;

export interface TokenExchangeRequest {
  subjectToken: string;
  subjectTokenType: string;
  /** The target's name in the policy (syntax checked, existence not). */
  audience: string;
  /** One Entra scope, or undefined to use the target's only scope. */
  scope: string | undefined;
}

/** The parameters of the contract; any other name is refused (see parseTokenRequest). */
const CONTRACT_PARAMETER_NAMES = [
  'grant_type',
  'subject_token',
  'subject_token_type',
  'audience',
  'scope',
  'resource',
  'requested_token_type',
  'actor_token',
  'actor_token_type',
] as const;
type ContractParameter = (typeof CONTRACT_PARAMETER_NAMES)[number];

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const invalid = (description: string) => new BrokerError('invalid_request', 400, description);

/** Counts `&`-separated pairs without splitting, so a flood costs one pass and no allocation. */
function countPairs(body: string): number {
  let pairs = body.length === 0 ? 0 : 1;
  for (let at = body.indexOf('&'); at !== -1; at = body.indexOf('&', at + 1)) pairs += 1;
  return pairs;
}

/**
 * One form component, decoded as the WHATWG urlencoded parser decodes it ('+' is a space, then percent
 * decoding and UTF-8, U+FFFD for what is not). Written by hand for speed only: URLSearchParams walks
 * every character of a kilobyte-long subject token that has nothing to decode, a tenth of the broker's
 * time per cached request (bench/README.md). decodeURIComponent agrees with the parser on well-formed
 * input and throws on anything else, which the parser itself then decodes.
 */
function decodeComponent(raw: string, remember: boolean): string {
  // The parser reads the text as UTF-8 first, so a lone surrogate becomes U+FFFD (toWellFormed).
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw.toWellFormed();
  if (!remember || raw.length > DECODED_MAX_LENGTH) return decodeEscaped(raw);
  let decoded = recentlyDecoded.get(raw);
  if (decoded === undefined) {
    decoded = decodeEscaped(raw);
    if (recentlyDecoded.size >= DECODED_MAX_ENTRIES) recentlyDecoded.clear();
    // A copy of its own: `raw` is a slice that would keep the whole request body alive with it.
    recentlyDecoded.set(Buffer.from(raw, 'utf16le').toString('utf16le'), decoded);
  }
  return decoded;
}

function decodeEscaped(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).toWellFormed();
  } catch {
    return new URLSearchParams(`v=${raw}`).get('v') ?? '';
  }
}

/**
 * Short escaped components decoded lately (the grant and token types and the scope repeat on every
 * request, and decodeURIComponent cost about a fifth of a µs each): a pure function's answers, so a
 * flood of distinct values only empties it, and it never holds more than 64 of 256 characters or fewer.
 * Names and the values of parameters that are not tokens only: no caller's token is kept here.
 */
const recentlyDecoded = new Map<string, string>();
const DECODED_MAX_ENTRIES = 64;
const DECODED_MAX_LENGTH = 256;

/** @internal For tests: whether the decoding memo holds `text`, as written or as decoded. */
export const decodingMemoHolds = (text: string): boolean =>
  recentlyDecoded.has(text) || [...recentlyDecoded.values()].includes(text);

/**
 * Calls `visit` with each pair of a form, in order: the name decoded, the value as written (undefined
 * when the pair has no `=`; `decodeComponent` reads it as URLSearchParams would, and an empty value
 * decodes to the only empty text, so the visitor can skip one without decoding it).
 */
function eachPair(body: string, visit: (name: string, rawValue: string | undefined) => void): void {
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf('&', start);
    if (end === -1) end = body.length;
    if (end > start) {
      const eq = body.indexOf('=', start);
      const split = eq !== -1 && eq < end;
      visit(
        decodeComponent(body.slice(start, split ? eq : end), true),
        split ? body.slice(eq + 1, end) : undefined,
      );
    }
    start = end + 1;
  }
}

/** The name-value pairs of a form, in order, exactly as `new URLSearchParams(body)` yields them. */
export function formPairs(body: string): [string, string][] {
  const pairs: [string, string][] = [];
  eachPair(body, (name, raw) => pairs.push([name, raw === undefined ? '' : decodeComponent(raw, false)]));
  return pairs;
}

/**
 * Each contract parameter's slot in a form as read. The names a request gives are looked up once, in
 * one map, and the values kept in an array: a keyed store per parameter into an object, with names
 * sliced from the body, cost a string-table lookup each in the broker's profile (bench/README.md).
 */
const SLOT = Object.fromEntries(CONTRACT_PARAMETER_NAMES.map((name, slot) => [name, slot])) as Record<
  ContractParameter,
  number
>;
const SLOT_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(SLOT));

/** The form as read: each contract parameter's first non-empty value, and every audience. */
interface FormParameters {
  /** By slot (SLOT). */
  values: (string | undefined)[];
  /** Every non-empty audience in order: several get their own error (`invalid_target`) later. */
  audiences: string[];
}

/**
 * Reads the form once into the contract's parameters. Refuses more pairs than the limit, any name
 * outside the contract, and a repeated parameter (RFC 6749 §3.2), naming only the contract's own
 * names: anything else is the caller's text, not ours to echo. An empty value counts as absent (§3.2).
 * RFC 6749 §3.2 asks servers to ignore unrecognised parameters; the broker refuses them instead
 * (issue 7), so a misspelt `scopes` or a client that expects another grant hears why at once.
 */
function readParameters(body: string): FormParameters {
  if (countPairs(body) > TOKEN_REQUEST_LIMITS.parameters) {
    throw invalid(`The request has more than ${TOKEN_REQUEST_LIMITS.parameters} parameters.`);
  }
  const values: (string | undefined)[] = CONTRACT_PARAMETER_NAMES.map(() => undefined);
  const audiences: string[] = [];
  // The slots in the order their names were first given (of several repeated names, the first is named).
  const given: number[] = [];
  const twice: boolean[] = [];
  eachPair(body, (name, raw) => {
    const slot = SLOT_BY_NAME.get(name);
    if (slot === undefined) {
      throw invalid(
        `The request carries a parameter this broker does not accept; the parameters are ${CONTRACT_PARAMETER_NAMES.join(', ')}.`,
      );
    }
    if (raw === undefined || raw === '') return;
    // A caller's token is never kept in the decoding memo.
    const value = decodeComponent(raw, slot !== SLOT.subject_token && slot !== SLOT.actor_token);
    if (slot === SLOT.audience) audiences.push(value);
    if (values[slot] === undefined) {
      values[slot] = value;
      given.push(slot);
    } else if (slot !== SLOT.audience) twice[slot] = true;
  });
  const repeated = given.find((slot) => twice[slot]);
  if (repeated !== undefined)
    throw invalid(`The parameter '${CONTRACT_PARAMETER_NAMES[repeated]}' is given more than once.`);
  return { values, audiences };
}

/** Validates the `application/x-www-form-urlencoded` body of POST /api/token. */
export function parseTokenRequest(body: string): TokenExchangeRequest {
  const { values, audiences } = readParameters(body);
  const one = (name: ContractParameter): string | undefined => values[SLOT[name]];

  const grantType = one('grant_type');
  if (grantType === undefined) throw invalid("The parameter 'grant_type' is required.");
  if (grantType !== TOKEN_EXCHANGE_GRANT) {
    throw new BrokerError(
      'unsupported_grant_type',
      400,
      `Only the grant type ${TOKEN_EXCHANGE_GRANT} is supported.`,
    );
  }
  const subjectToken = one('subject_token');
  if (subjectToken === undefined) throw invalid("The parameter 'subject_token' is required.");
  const subjectTokenType = one('subject_token_type');
  if (subjectTokenType === undefined) throw invalid("The parameter 'subject_token_type' is required.");
  if (!SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) {
    throw invalid(`The subject_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}.`);
  }
  if (one('actor_token') !== undefined || one('actor_token_type') !== undefined)
    throw invalid('Actor tokens are not supported.');
  if (one('resource') !== undefined)
    throw invalid("Name the target with 'audience'; 'resource' is not supported.");
  const requested = one('requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw invalid(`The only requested_token_type issued is ${ACCESS_TOKEN_TYPE}.`);
  }
  if (audiences.length === 0) {
    throw invalid("The parameter 'audience' (the target name in the policy) is required.");
  }
  if (audiences.length > 1)
    throw new BrokerError('invalid_target', 400, 'Exactly one audience (target) may be requested.');
  const audience = audiences[0] as string;
  // Syntax only: whether the target exists is the policy's answer, given after verification.
  if (!TARGET_NAME.test(audience)) {
    throw invalid("The parameter 'audience' must be a target name: 1-64 letters, digits, '.', '_' or '-'.");
  }
  const scopes = (one('scope') ?? '').split(' ').filter(Boolean);
  if (scopes.some((scope) => !SCOPE_TOKEN.test(scope))) {
    throw new BrokerError(
      'invalid_scope',
      400,
      'The scope holds characters RFC 6749 does not allow in a scope.',
    );
  }
  if (scopes.length > 1) {
    throw new BrokerError(
      'invalid_scope',
      400,
      'Exactly one scope may be requested: Entra issues one resource per token.',
    );
  }
  return { subjectToken, subjectTokenType, audience, scope: scopes[0] };
}
