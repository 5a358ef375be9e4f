// The STS query protocol on the wire (issue 8): parameters from the query string and the form body, answers
// and errors laid out byte for byte as STS writes them, and SigV4 failures mapped to STS's codes and statuses.
// Observed shapes: justincormack/argmin `crates/s3-tests/src/bin/sts_oracle.rs` @5e3c7f6 (probes pinned
// against real STS), aws-azure-login#251 (a logged 403), protocols.md §C.4.
import { randomBytes } from 'node:crypto';
import type { SigV4Failure } from './sigv4.js';

/** The only API version STS knows. */
export const STS_VERSION = '2011-06-15';
export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** InvalidAction comes from AWS's shared front end, in its own namespace (argmin oracle, observed). */
export const AWS_FAULT_XMLNS = 'http://webservices.amazon.com/AWSFault/2005-15-09';
/** Where STS sends a request that names no Action (argmin oracle, observed for GET and POST). */
export const MISSING_ACTION_LOCATION = 'https://aws.amazon.com/iam';

/** An STS error answer: `Type` is Sender below 500 and Receiver from 500. */
export interface StsError {
  status: number;
  code: string;
  /** Left out of the XML when undefined, as STS does for some MalformedInput errors. */
  message?: string;
  /** `STS_XMLNS` unless told. */
  namespace?: string;
}

export const isStsError = (value: unknown): value is StsError =>
  typeof value === 'object' && value !== null && 'code' in value && 'status' in value;

/**
 * The request's parameters: the query string first, then the body when it is form-encoded (any
 * `charset`). The first occurrence of a name wins, as STS keeps it (argmin oracle: `duplicate-action`,
 * `duplicate-version`). A body under another or no content type is not read, so such a POST names no
 * Action and is redirected, as observed (`post-without-content-type`); a signed GetCallerIdentity carried
 * in the query string with an empty body (Google's and Vault's form) still works.
 */
export function queryParameters(
  url: URL,
  contentType: string | undefined,
  body: Buffer,
): ReadonlyMap<string, string> {
  const parameters = new Map<string, string>();
  const add = (search: URLSearchParams) => {
    for (const [name, value] of search) if (!parameters.has(name)) parameters.set(name, value);
  };
  add(url.searchParams);
  if (/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType ?? '')) {
    add(new URLSearchParams(body.toString('utf8')));
  }
  return parameters;
}

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (ch) => XML_ESCAPES[ch] ?? ch);

/**
 * `<{Action}Response>` holding `<{Action}Result>` with `members` in order, then `ResponseMetadata`, indented
 * two spaces a level and ending in a newline, as STS lays it out (argmin oracle, GetCallerIdentity).
 */
export function resultXml(
  action: string,
  members: ReadonlyArray<readonly [string, string]>,
  requestId: string,
): string {
  const lines = members.map(([name, value]) => `    <${name}>${escapeXml(value)}</${name}>\n`).join('');
  return (
    `<${action}Response xmlns="${STS_XMLNS}">\n  <${action}Result>\n${lines}  </${action}Result>\n` +
    `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`
  );
}

/** `<ErrorResponse>` as STS writes it (argmin oracle; aws-azure-login#251). */
export function errorXml(error: StsError, requestId: string): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  const message = error.message === undefined ? '' : `    <Message>${escapeXml(error.message)}</Message>\n`;
  return (
    `<ErrorResponse xmlns="${error.namespace ?? STS_XMLNS}">\n  <Error>\n    <Type>${type}</Type>\n` +
    `    <Code>${escapeXml(error.code)}</Code>\n${message}  </Error>\n` +
    `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`
  );
}

/**
 * Headers on every STS answer: `x-amzn-RequestId` (read by the SDK as `$metadata.requestId`),
 * `x-amz-sts-extended-request-id` (present on every observed answer; its format here is UNCONFIRMED) and
 * `Date` from the stand-in's clock, which the SDK uses to correct its clock skew.
 */
export function stsHeaders(requestId: string, nowMs: number): Record<string, string> {
  return {
    'x-amzn-RequestId': requestId,
    'x-amz-sts-extended-request-id': randomBytes(36).toString('base64'),
    Date: new Date(nowMs).toUTCString(),
  };
}

/** An XML answer (`text/xml`, as STS sends both results and errors). */
export function xmlResponse(status: number, body: string, requestId: string, nowMs: number): Response {
  return new Response(body, {
    status,
    headers: { ...stsHeaders(requestId, nowMs), 'Content-Type': 'text/xml' },
  });
}

export const errorResponse = (error: StsError, requestId: string, nowMs: number): Response =>
  xmlResponse(error.status, errorXml(error, requestId), requestId, nowMs);

/** A redirect with an empty body (STS's answer to a request without Action; fault redirects). */
export function redirectResponse(
  status: number,
  location: string,
  requestId: string,
  nowMs: number,
): Response {
  return new Response(null, { status, headers: { ...stsHeaders(requestId, nowMs), Location: location } });
}

/**
 * STS's answer to each SigV4 failure, keeping the verifier's message. Statuses and codes:
 * - missing → 403 MissingAuthenticationToken ([doc] AWS Common Errors; STS body in a nock fixture, §C.4);
 * - malformed → 400 IncompleteSignature (hashicorp/vault#4939: "received error code 400 from STS");
 * - unknownKey → 403 InvalidClientTokenId (argmin oracle; aws-azure-login#251), also for a session key sent
 *   without or with another session token (argmin oracle `session-auth-*-token-*`);
 * - badSignature → 403 SignatureDoesNotMatch (argmin oracle `valid-token-bad-signature`);
 * - wrongScope → 403 SignatureDoesNotMatch (terraform-provider-aws#35860 for the region; the service and
 *   date variants are UNCONFIRMED);
 * - expiredSignature → SignatureDoesNotMatch "Signature expired: …" (aws-cli#6676 names the code for
 *   GetCallerIdentity; its status, taken as 403 like every other SignatureDoesNotMatch, is UNCONFIRMED);
 * - expiredToken → 403 ExpiredToken (code for GetCallerIdentity: prowler#789; 403 from the same query-XML
 *   front end of IAM, cfn-sphere#55; for STS itself UNCONFIRMED).
 */
export function sigV4Error(failure: SigV4Failure, message: string): StsError {
  switch (failure) {
    case 'missing':
      return { status: 403, code: 'MissingAuthenticationToken', message };
    case 'malformed':
      return { status: 400, code: 'IncompleteSignature', message };
    case 'unknownKey':
      return { status: 403, code: 'InvalidClientTokenId', message };
    case 'expiredToken':
      return { status: 403, code: 'ExpiredToken', message };
    default:
      return { status: 403, code: 'SignatureDoesNotMatch', message };
  }
}

/** 400 InvalidAction in the AWSFault namespace; a missing Version reads `NO_VERSION_SPECIFIED` (observed). */
export const invalidAction = (action: string, version: string | undefined): StsError => ({
  status: 400,
  code: 'InvalidAction',
  namespace: AWS_FAULT_XMLNS,
  message: `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
});

/** One constraint violation in AWS's words: `Value '<v>' at '<path>' failed to satisfy constraint: …`. */
export const violation = (value: string | null, path: string, constraint: string): string =>
  `Value ${value === null ? 'null' : `'${value}'`} at '${path}' failed to satisfy constraint: ${constraint}`;

/** 400 ValidationError: `N validation error(s) detected: a; b` (argmin oracle, AssumeRole probes). */
export function validationError(violations: readonly string[]): StsError {
  const count = violations.length;
  return {
    status: 400,
    code: 'ValidationError',
    message: `${count} validation error${count === 1 ? '' : 's'} detected: ${violations.join('; ')}`,
  };
}
