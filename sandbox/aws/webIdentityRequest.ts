// GetWebIdentityToken's query parameters, read and checked as STS does (protocols.md §C.5, issue 8): the
// audiences, the algorithm, the duration and the request tags, or the error STS answers for them.
import { type StsError, validationError, violation } from './stsWire.js';

/** The signing algorithms STS offers (API_GetWebIdentityToken; the SDK's model documents both). */
export type WebIdentitySigningAlgorithm = 'RS256' | 'ES384';

/** A checked GetWebIdentityToken request. */
export interface WebIdentityTokenRequest {
  /** 1 to 10 audiences, in the order sent. */
  audiences: string[];
  algorithm: WebIdentitySigningAlgorithm;
  /** 60 to 3600 seconds; 300 when not sent. */
  durationSeconds: number;
  /** Request tags, in the order sent (they become the `request_tags` claim). */
  tags: { key: string; value: string }[];
}

const ALGORITHMS: readonly string[] = ['RS256', 'ES384'];
const SUBJECT_MODES: readonly string[] = ['AWSIdentity', 'OriginIdentity'];
const MAX_AUDIENCES = 10;
const MAX_AUDIENCE_LENGTH = 1000;
const MAX_TAGS = 50;
// STS's tagKeyType / tagValueType (AssumeRole's documented tag constraints, shared by this operation).
const TAG_KEY_PATTERN = String.raw`[\p{L}\p{Z}\p{N}_.:/=+\-@]+`;
const TAG_VALUE_PATTERN = String.raw`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`;
const TAG_KEY = new RegExp(`^${TAG_KEY_PATTERN}$`, 'u');
const TAG_VALUE = new RegExp(`^${TAG_VALUE_PATTERN}$`, 'u');
const INT32 = 2 ** 31;

// Lengths are counted in code points, as the oracle's role-ARN probes show for STS.
const length = (text: string): number => [...text].length;
const listText = (items: readonly string[]): string => `[${items.join(', ')}]`;

/** `Name.member.1`, `Name.member.2`, … up to the first gap (the query protocol's list encoding). */
function members(parameters: ReadonlyMap<string, string>, name: string): string[] | null {
  const items: string[] = [];
  for (let i = 1; parameters.has(`${name}.member.${i}`); i += 1) {
    items.push(parameters.get(`${name}.member.${i}`) as string);
  }
  // The SDK sends an empty list as a bare `Name=` (serializeEmptyLists); nothing at all is a null member.
  if (items.length === 0) return parameters.has(name) ? [] : null;
  return items;
}

/**
 * DurationSeconds as the query deserializer reads an integer: a sign and leading zeros pass (`+900`,
 * `0900` are accepted), anything else, or beyond 32 bits, is MalformedInput before any validation
 * (argmin oracle, AssumeRole probes, including the message for an empty value and none for the others).
 */
function duration(raw: string | undefined): number | StsError | undefined {
  if (raw === undefined) return undefined;
  if (raw === '') return { status: 400, code: 'MalformedInput', message: 'missing value for decimal type' };
  const value = /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value >= INT32 || value < -INT32) {
    return { status: 400, code: 'MalformedInput' };
  }
  return value;
}

function tagViolations(parameters: ReadonlyMap<string, string>, tags: WebIdentityTokenRequest['tags']) {
  const found: string[] = [];
  for (
    let i = 1;
    parameters.has(`Tags.member.${i}.Key`) || parameters.has(`Tags.member.${i}.Value`);
    i += 1
  ) {
    const key = parameters.get(`Tags.member.${i}.Key`);
    const value = parameters.get(`Tags.member.${i}.Value`);
    const at = `tags.${i}.member`;
    if (key === undefined) found.push(violation(null, `${at}.key`, 'Member must not be null'));
    else if (length(key) < 1)
      found.push(violation(key, `${at}.key`, 'Member must have length greater than or equal to 1'));
    else if (length(key) > 128)
      found.push(violation(key, `${at}.key`, 'Member must have length less than or equal to 128'));
    else if (!TAG_KEY.test(key))
      found.push(
        violation(key, `${at}.key`, `Member must satisfy regular expression pattern: ${TAG_KEY_PATTERN}`),
      );
    if (value === undefined) found.push(violation(null, `${at}.value`, 'Member must not be null'));
    else if (length(value) > 256)
      found.push(violation(value, `${at}.value`, 'Member must have length less than or equal to 256'));
    else if (!TAG_VALUE.test(value))
      found.push(
        violation(
          value,
          `${at}.value`,
          `Member must satisfy regular expression pattern: ${TAG_VALUE_PATTERN}`,
        ),
      );
    tags.push({ key: key ?? '', value: value ?? '' });
  }
  if (tags.length > MAX_TAGS) {
    const shown = listText(tags.map((tag) => `{Key: ${tag.key},Value: ${tag.value}}`));
    found.push(violation(shown, 'tags', `Member must have length less than or equal to ${MAX_TAGS}`));
  }
  return found;
}

/**
 * Reads and checks the parameters of GetWebIdentityToken, returning the request or the error STS answers:
 * MalformedInput for an unreadable DurationSeconds, then one ValidationError listing every violated
 * constraint (audience, signingAlgorithm, durationSeconds, tags, in that order: the order is UNCONFIRMED).
 * Constraints: Audience 1–10 members of 1–1000 characters and SigningAlgorithm RS256|ES384, both required;
 * DurationSeconds 60–3600; at most 50 tags (API_GetWebIdentityToken, protocols.md §C.5). Each message
 * follows AWS's observed pattern; the exact texts for this operation are UNCONFIRMED.
 */
export function parseWebIdentityTokenRequest(
  parameters: ReadonlyMap<string, string>,
): WebIdentityTokenRequest | StsError {
  const seconds = duration(parameters.get('DurationSeconds'));
  if (typeof seconds === 'object') return seconds;
  const found: string[] = [];
  const audiences = members(parameters, 'Audience');
  if (audiences === null) found.push(violation(null, 'audience', 'Member must not be null'));
  else if (audiences.length === 0)
    found.push(violation('[]', 'audience', 'Member must have length greater than or equal to 1'));
  else if (audiences.length > MAX_AUDIENCES)
    found.push(
      violation(listText(audiences), 'audience', `Member must have length less than or equal to 10`),
    );
  audiences?.forEach((audience, index) => {
    const at = `audience.${index + 1}.member`;
    if (length(audience) < 1)
      found.push(violation(audience, at, 'Member must have length greater than or equal to 1'));
    if (length(audience) > MAX_AUDIENCE_LENGTH)
      found.push(
        violation(audience, at, `Member must have length less than or equal to ${MAX_AUDIENCE_LENGTH}`),
      );
  });
  const algorithm = parameters.get('SigningAlgorithm');
  if (algorithm === undefined) found.push(violation(null, 'signingAlgorithm', 'Member must not be null'));
  else if (!ALGORITHMS.includes(algorithm))
    found.push(
      violation(algorithm, 'signingAlgorithm', `Member must satisfy enum value set: ${listText(ALGORITHMS)}`),
    );
  if (seconds !== undefined && seconds < 60)
    found.push(
      violation(String(seconds), 'durationSeconds', 'Member must have value greater than or equal to 60'),
    );
  if (seconds !== undefined && seconds > 3600)
    found.push(
      violation(String(seconds), 'durationSeconds', 'Member must have value less than or equal to 3600'),
    );
  const tags: WebIdentityTokenRequest['tags'] = [];
  found.push(...tagViolations(parameters, tags));
  const subjectMode = parameters.get('SubjectMode');
  if (subjectMode !== undefined && !SUBJECT_MODES.includes(subjectMode))
    found.push(
      violation(subjectMode, 'subjectMode', `Member must satisfy enum value set: ${listText(SUBJECT_MODES)}`),
    );
  if (found.length > 0) return validationError(found);
  // The sandbox's sessions carry no trusted identity propagation context, so STS would refuse OriginIdentity
  // (and Scope, which needs it) with a validation error (the SDK's GetWebIdentityTokenRequest docs); the
  // message is UNCONFIRMED.
  if (subjectMode === 'OriginIdentity' || parameters.has('Scope')) {
    return {
      status: 400,
      code: 'ValidationError',
      message:
        'SubjectMode OriginIdentity and Scope need a trusted identity propagation context on the session.',
    };
  }
  const lowerKeys = new Set(tags.map((tag) => tag.key.toLowerCase()));
  if (lowerKeys.size !== tags.length) {
    // Tag keys are case-insensitive in STS; the code and text are recalled from AssumeRole (UNCONFIRMED).
    return {
      status: 400,
      code: 'InvalidParameterValue',
      message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
    };
  }
  return {
    audiences: audiences ?? [],
    algorithm: algorithm as WebIdentitySigningAlgorithm,
    durationSeconds: seconds ?? 300,
    tags,
  };
}
