// Field rules for federated identity credentials, shared by Graph, ARM and the seed loader (protocols.md §A.7, §A.8).

import { checkFlexibleFicAllowed, parseFicExpression } from './ficExpression.js';
import type { FederatedIdentityCredential } from './model.js';

/** At most this many FICs per application or user-assigned managed identity (entra-federation.md). */
export const MAX_FICS_PER_OWNER = 20;
/** Length limit of issuer, subject, each audience and description (protocols.md §A.7). */
export const MAX_FIC_FIELD_LENGTH = 600;
// 3–120 chars, first alphanumeric, then alphanumeric/-/_ (§A.7; the same regex ARM publishes for the path).
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/;

/** What owns a FIC: flexible FICs (claimsMatchingExpression) are allowed only on applications (§A.7). */
export type FicOwnerKind = 'application' | 'managedIdentity';

/**
 * Why a FIC operation failed, independent of the wire: graphApi.ts and armApi.ts each map a code to
 * their own status, error code and message.
 */
export type FicErrorCode =
  | 'owner_not_found'
  | 'fic_not_found'
  | 'name_invalid'
  | 'name_immutable'
  | 'name_conflict'
  | 'issuer_required'
  | 'issuer_too_long'
  | 'subject_required'
  | 'subject_too_long'
  | 'subject_and_expression'
  | 'audiences_required'
  | 'audiences_count'
  | 'audience_too_long'
  | 'description_too_long'
  | 'issuer_subject_conflict'
  | 'limit_reached'
  | 'expression_unsupported_owner'
  | 'expression_language_version'
  | 'expression_invalid'
  | 'expression_not_allowed';

/** A failed FIC operation: a code, a neutral message, and the offending value when there is one. */
export interface FicError {
  code: FicErrorCode;
  message: string;
  value?: string;
  /** The clashing issuer, for `issuer_subject_conflict` (Graph names it in its message). */
  issuer?: string;
}

/** Either the value or a typed error; the directory never throws for a caller's mistake. */
export type FicResult<T> = { ok: true; value: T } | { ok: false; error: FicError };

/**
 * Fields a caller supplies. `undefined` means absent; `null` means explicitly cleared (Graph PATCH).
 * languageVersion is a plain number here so that a wrong version reaches validation instead of a type error.
 */
export interface FicInput {
  name?: string;
  issuer?: string;
  subject?: string | null;
  audiences?: string[];
  description?: string | null;
  claimsMatchingExpression?: { value: string; languageVersion: number } | null;
}

/** Builds a FicError; `value` is kept only when given. */
export function ficError(code: FicErrorCode, message: string, value?: string): FicError {
  return value === undefined ? { code, message } : { code, message, value };
}

/** True for a name Graph and ARM accept: 3–120 chars, first alphanumeric, then alphanumeric, `-` or `_`. */
export function isValidFicName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/** True when a subject counts as set; an empty string is treated as absent, like null. */
export function hasSubject(subject: string | null | undefined): subject is string {
  return typeof subject === 'string' && subject.length > 0;
}

/**
 * Checks the fields of one complete FIC (after any merge) against the documented rules, in the order a
 * reader of protocols.md §A.7 meets them. Returns the first violation, or undefined.
 */
export function validateFicFields(fic: FicInput, ownerKind: FicOwnerKind): FicError | undefined {
  const { name, issuer, subject, audiences, description, claimsMatchingExpression: expression } = fic;
  if (name === undefined || !isValidFicName(name)) {
    return ficError(
      'name_invalid',
      'name must be 3-120 characters of A-Z, a-z, 0-9, - and _, starting alphanumeric',
      name,
    );
  }
  if (issuer === undefined || issuer.length === 0) return ficError('issuer_required', 'issuer is required');
  if (issuer.length > MAX_FIC_FIELD_LENGTH)
    return ficError('issuer_too_long', 'issuer exceeds 600 characters', issuer);
  if (audiences === undefined || audiences.length === 0)
    return ficError('audiences_required', 'audiences is required');
  if (audiences.length !== 1) return ficError('audiences_count', 'audiences must contain exactly one value');
  const [audience] = audiences;
  if (audience === undefined || audience.length === 0)
    return ficError('audiences_required', 'audiences is required');
  if (audience.length > MAX_FIC_FIELD_LENGTH) {
    return ficError('audience_too_long', 'audience exceeds 600 characters', audience);
  }
  if (typeof subject === 'string' && subject.length > MAX_FIC_FIELD_LENGTH) {
    return ficError('subject_too_long', 'subject exceeds 600 characters', subject);
  }
  if (typeof description === 'string' && description.length > MAX_FIC_FIELD_LENGTH) {
    return ficError('description_too_long', 'description exceeds 600 characters');
  }
  if (expression === undefined || expression === null) {
    return hasSubject(subject) ? undefined : ficError('subject_required', 'subject is required');
  }
  return validateExpression(issuer, subject, expression, ownerKind);
}

function validateExpression(
  issuer: string,
  subject: string | null | undefined,
  expression: { value: string; languageVersion: number },
  ownerKind: FicOwnerKind,
): FicError | undefined {
  // §A.7: flexible FICs exist on application objects only.
  if (ownerKind !== 'application') {
    return ficError(
      'expression_unsupported_owner',
      'claimsMatchingExpression is supported on applications only',
    );
  }
  if (hasSubject(subject)) {
    return ficError(
      'subject_and_expression',
      'subject and claimsMatchingExpression are mutually exclusive',
      subject,
    );
  }
  if (expression.languageVersion !== 1) {
    return ficError(
      'expression_language_version',
      'claimsMatchingExpression.languageVersion must be 1',
      String(expression.languageVersion),
    );
  }
  const parsed = parseFicExpression(expression.value);
  if (!parsed.ok) {
    return ficError(
      'expression_invalid',
      `claimsMatchingExpression is invalid: ${parsed.reason}`,
      expression.value,
    );
  }
  const refused = checkFlexibleFicAllowed(issuer, parsed.expression);
  return refused === undefined ? undefined : ficError('expression_not_allowed', refused, expression.value);
}

/** Case-insensitive name comparison: names are an alternate key, and ARM resource names ignore case. */
export function sameFicName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Checks a candidate against its siblings (the owner's other FICs): unique name, unique (issuer, subject)
 * compared exactly and case-sensitively (entra-federation.md), and the 20-per-owner limit when adding.
 */
export function checkFicSiblings(
  siblings: readonly FederatedIdentityCredential[],
  candidate: { name: string; issuer: string; subject: string | null },
  adding: boolean,
): FicError | undefined {
  if (siblings.some((other) => sameFicName(other.name, candidate.name))) {
    return ficError(
      'name_conflict',
      `a federated identity credential named ${candidate.name} already exists`,
      candidate.name,
    );
  }
  if (
    candidate.subject !== null &&
    siblings.some((other) => other.issuer === candidate.issuer && other.subject === candidate.subject)
  ) {
    const error = ficError(
      'issuer_subject_conflict',
      'the issuer and subject combination already exists',
      candidate.subject,
    );
    return { ...error, issuer: candidate.issuer };
  }
  if (adding && siblings.length >= MAX_FICS_PER_OWNER) {
    return ficError(
      'limit_reached',
      `at most ${MAX_FICS_PER_OWNER} federated identity credentials per owner`,
    );
  }
  return undefined;
}
