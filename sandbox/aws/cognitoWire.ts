// Cognito Identity's AWS JSON 1.1 wire (protocols.md §C.1): error bodies and headers, the status of each
// error type, and the request checks Coral's model validation makes before an operation runs.
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';

/** `X-Amz-Target` is `AWSCognitoIdentityService.<Op>` (botocore metadata `targetPrefix`). */
export const TARGET_PREFIX = 'AWSCognitoIdentityService.';
/** The content type of every request and answer of the protocol. */
export const JSON_11 = 'application/x-amz-json-1.1';

/**
 * HTTP status of each error `__type` the stand-in sends. Cognito answers service errors with 400 on the
 * wire (AWS SDK for Java traces "Service: AmazonCognitoIdentity; Status Code: 400; Error Code:
 * ResourceNotFoundException" in aws-sdk-android-samples#163; "POST https://cognito-identity.us-east-1.
 * amazonaws.com/ 400" for NotAuthorizedException in aws-sdk-js-v3#3113; ValidationException 400 in
 * amplify-swift#2864), although the current Smithy model gives NotAuthorized 403, ResourceNotFound 404,
 * ResourceConflict 409 and TooManyRequests 429. The SigV4 family is 400 on other JSON 1.1 services
 * (cognito-idp, DynamoDB, Kinesis, Rekognition); for Cognito Identity it is UNCONFIRMED, and one report of
 * a developer-identity call says 403 for InvalidSignatureException. Override with `errorStatuses`.
 */
export const DEFAULT_ERROR_STATUS = {
  InvalidParameterException: 400,
  NotAuthorizedException: 400,
  ResourceNotFoundException: 400,
  ResourceConflictException: 400,
  TooManyRequestsException: 400,
  LimitExceededException: 400,
  DeveloperUserAlreadyRegisteredException: 400,
  InternalErrorException: 500,
  ValidationException: 400,
  SerializationException: 400,
  UnknownOperationException: 400,
  MissingAuthenticationTokenException: 400,
  IncompleteSignatureException: 400,
  UnrecognizedClientException: 400,
  InvalidSignatureException: 400,
  ExpiredTokenException: 400,
} as const;

/** The error `__type` values the stand-in itself sends (faults may send any). */
export type CognitoErrorType = keyof typeof DEFAULT_ERROR_STATUS;

/** A refusal on the wire: `{"__type": type, "message": message}`; its status comes from the table. */
export class CognitoError extends Error {
  constructor(
    readonly type: CognitoErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'CognitoError';
  }
}

// Headers carry only printable ASCII; a hostile value echoed in a message must not break the response.
const headerSafe = (text: string): string => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 1024);

/**
 * Sends an error the way Cognito does: the JSON body, plus `x-amzn-ErrorType: <type>:` and
 * `x-amzn-ErrorMessage` (both observed on Cognito Identity in amplify-swift#2864 and #3124).
 */
export function sendError(
  c: Context,
  type: string,
  message: string,
  status: number,
  extraHeaders: Record<string, string> = {},
): Response {
  const headers = {
    'content-type': JSON_11,
    'x-amzn-ErrorType': `${headerSafe(type)}:`,
    'x-amzn-ErrorMessage': headerSafe(message),
    ...extraHeaders,
  };
  return c.body(JSON.stringify({ __type: type, message }), status as 400, headers);
}

/** Sends a successful answer: the output structure as JSON 1.1, status 200. */
export const sendJson = (c: Context, body: unknown): Response =>
  c.body(JSON.stringify(body), 200, { 'content-type': JSON_11 });

/** Headers every answer carries: a request id, and `Date` from the stand-in's clock (the SDK reads it). */
export const commonHeaders = (now: number): Record<string, string> => ({
  'x-amzn-RequestId': randomUUID(),
  date: new Date(now).toUTCString(),
});

// The model's shapes (botocore cognito-identity 2014-06-30 service-2.json), checked as Coral does.
type Rule =
  | { kind: 'string'; min: number; max: number; pattern?: string }
  | { kind: 'map'; max: number; key: [number, number]; value: [number, number] }
  | { kind: 'long'; min: number; max: number };

const ID: Rule = { kind: 'string', min: 1, max: 55, pattern: String.raw`[\w-]+:[0-9a-f-]+` };
const LOGINS: Rule = { kind: 'map', max: 10, key: [1, 128], value: [1, 50000] };

/** Members of each operation's input, in model order: name, required, shape. */
export const OPERATION_INPUTS = {
  GetId: [
    ['AccountId', false, { kind: 'string', min: 1, max: 15, pattern: String.raw`\d+` }],
    ['IdentityPoolId', true, ID],
    ['Logins', false, LOGINS],
  ],
  GetOpenIdToken: [
    ['IdentityId', true, ID],
    ['Logins', false, LOGINS],
  ],
  GetOpenIdTokenForDeveloperIdentity: [
    ['IdentityPoolId', true, ID],
    ['IdentityId', false, ID],
    ['Logins', true, LOGINS],
    ['PrincipalTags', false, { kind: 'map', max: 50, key: [1, 128], value: [1, 256] }],
    ['TokenDuration', false, { kind: 'long', min: 1, max: 86400 }],
  ],
} as const satisfies Record<string, readonly (readonly [string, boolean, Rule])[]>;

/** The operations the stand-in serves; other targets get UnknownOperationException. */
export type CognitoOperation = keyof typeof OPERATION_INPUTS;
/** Every `CognitoOperation`, for membership checks. */
export const OPERATIONS = Object.keys(OPERATION_INPUTS) as CognitoOperation[];

/** The parsed input: strings, string maps and integers, as the model types them. */
export type OperationInput = Record<string, string | number | Record<string, string> | undefined>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// Coral names members in camelCase and prints maps as Java does (`{k=v, k2=v2}`).
const wireName = (member: string): string => member[0]?.toLowerCase() + member.slice(1);
const shown = (value: unknown): string =>
  isObject(value)
    ? `{${Object.entries(value)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ')}}`
    : String(value);

function lengthViolations(length: number, min: number, max: number): string[] {
  const found: string[] = [];
  if (length > max) found.push(`Member must have length less than or equal to ${max}`);
  if (length < min) found.push(`Member must have length greater than or equal to ${min}`);
  return found;
}

function violationsOf(value: unknown, rule: Rule): string[] {
  if (rule.kind === 'long') {
    const n = value as number;
    if (n > rule.max) return [`Member must have value less than or equal to ${rule.max}`];
    return n < rule.min ? [`Member must have value greater than or equal to ${rule.min}`] : [];
  }
  if (rule.kind === 'string') {
    const text = value as string;
    const found: string[] = [];
    // Coral patterns must match the whole value (Java's Matcher.matches).
    if (rule.pattern && !new RegExp(`^(?:${rule.pattern})$`).test(text)) {
      found.push(`Member must satisfy regular expression pattern: ${rule.pattern}`);
    }
    return [...found, ...lengthViolations(text.length, rule.min, rule.max)];
  }
  const entries = Object.entries(value as Record<string, string>);
  const found = lengthViolations(entries.length, 0, rule.max);
  const keys = [...new Set(entries.flatMap(([k]) => lengthViolations(k.length, ...rule.key)))];
  const values = [...new Set(entries.flatMap(([, v]) => lengthViolations(v.length, ...rule.value)))];
  if (keys.length) found.push(`Map keys must satisfy constraint: [${keys.join(', ')}]`);
  if (values.length) found.push(`Map value must satisfy constraint: [${values.join(', ')}]`);
  return found;
}

function typeFits(value: unknown, rule: Rule): boolean {
  if (rule.kind === 'string') return typeof value === 'string';
  if (rule.kind === 'long') return Number.isSafeInteger(value);
  return isObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * Parses the body and checks it against the operation's model: a body that is not a JSON object, or a
 * member of the wrong type, is a `SerializationException` (message UNCONFIRMED); missing required members
 * and broken constraints are one `ValidationException` listing them all, worded as Coral words them
 * ("1 validation error detected: Value '…' at 'identityPoolId' failed to satisfy constraint: Member must
 * satisfy regular expression pattern: [\w-]+:[0-9a-f-]+", observed in amplify-swift#1495 and #2864).
 * Unknown members are ignored, as Coral ignores them.
 */
export function parseInput(operation: CognitoOperation, text: string): OperationInput {
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new CognitoError('SerializationException', 'The request body is not valid JSON.');
  }
  if (!isObject(body))
    throw new CognitoError('SerializationException', 'The request body must be a JSON object.');
  const input: OperationInput = {};
  const violations: string[] = [];
  for (const [member, required, rule] of OPERATION_INPUTS[operation] as readonly (readonly [
    string,
    boolean,
    Rule,
  ])[]) {
    const value = Object.hasOwn(body, member) ? body[member] : undefined;
    if (value === undefined || value === null) {
      if (required)
        violations.push(
          `Value null at '${wireName(member)}' failed to satisfy constraint: Member must not be null`,
        );
      continue;
    }
    if (!typeFits(value, rule)) {
      throw new CognitoError('SerializationException', `${member} is not of the type the model gives it.`);
    }
    for (const problem of violationsOf(value, rule)) {
      violations.push(
        `Value '${shown(value)}' at '${wireName(member)}' failed to satisfy constraint: ${problem}`,
      );
    }
    input[member] = value as string | number | Record<string, string>;
  }
  if (violations.length > 0) {
    const count = `${violations.length} validation error${violations.length > 1 ? 's' : ''} detected`;
    throw new CognitoError('ValidationException', `${count}: ${violations.join('; ')}`);
  }
  return input;
}
