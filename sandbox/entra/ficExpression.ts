// Flexible FIC expression language, languageVersion 1: parse, evaluate, and check against the issuer allow-list.
// Hand-written: no published library implements this small language (protocols.md §A.7, E6). Grammar,
// from the documentation's description (tokens separated by exactly one space):
//   expression := clause (' and ' clause)*
//   clause     := "claims['" claimName "']" ' ' ('matches' | 'eq') ' ' "'" comparand "'"
// The language defines no escape sequence, so a single quote can appear in neither name nor comparand.

/** An operator of language version 1: `eq` compares exactly, `matches` allows `?` and `*` wildcards. */
export type FicOperator = 'eq' | 'matches';

/** One `claims['<claim>'] <operator> '<comparand>'` comparison. */
export interface FicClause {
  claim: string;
  operator: FicOperator;
  comparand: string;
}

/** A parsed expression: every clause must hold (`and` is the only combinator). */
export interface ParsedFicExpression {
  clauses: FicClause[];
}

/** Outcome of {@link parseFicExpression}. */
export type ParseFicExpressionResult =
  | { ok: true; expression: ParsedFicExpression }
  | { ok: false; reason: string };

const CLAIM_OPEN = "claims['";
const CLAIM_CLOSE = "']";
const OPERATORS: readonly FicOperator[] = ['eq', 'matches'];

/**
 * Parses a claimsMatchingExpression value of language version 1. Strict: exactly one space between
 * tokens, lower-case keywords, single-quoted comparands, no escapes (protocols.md §A.7).
 */
export function parseFicExpression(value: string): ParseFicExpressionResult {
  const clauses: FicClause[] = [];
  let position = 0;
  for (;;) {
    const clause = parseClause(value, position);
    if (!clause.ok) return clause;
    clauses.push(clause.clause);
    position = clause.next;
    if (position === value.length) return { ok: true, expression: { clauses } };
    if (!value.startsWith(' and ', position)) {
      return { ok: false, reason: `expected ' and ' or the end of the expression at position ${position}` };
    }
    position += ' and '.length;
  }
}

type ClauseResult = { ok: true; clause: FicClause; next: number } | { ok: false; reason: string };

function parseClause(value: string, start: number): ClauseResult {
  if (!value.startsWith(CLAIM_OPEN, start)) {
    return { ok: false, reason: `expected claims['<name>'] at position ${start}` };
  }
  const nameStart = start + CLAIM_OPEN.length;
  const nameEnd = value.indexOf("'", nameStart);
  if (nameEnd < 0 || !value.startsWith(CLAIM_CLOSE, nameEnd)) {
    return { ok: false, reason: `unterminated claim lookup at position ${start}` };
  }
  const claim = value.slice(nameStart, nameEnd);
  if (claim.length === 0) return { ok: false, reason: `empty claim name at position ${nameStart}` };
  let position = nameEnd + CLAIM_CLOSE.length;
  if (value[position] !== ' ') return { ok: false, reason: `expected one space at position ${position}` };
  position += 1;
  const operator = OPERATORS.find((op) => value.startsWith(`${op} `, position));
  if (!operator) {
    return {
      ok: false,
      reason: `expected operator 'eq' or 'matches' followed by one space at position ${position}`,
    };
  }
  position += operator.length + 1;
  if (value[position] !== "'")
    return { ok: false, reason: `expected a single-quoted comparand at position ${position}` };
  const comparandEnd = value.indexOf("'", position + 1);
  if (comparandEnd < 0) return { ok: false, reason: `unterminated comparand at position ${position}` };
  const comparand = value.slice(position + 1, comparandEnd);
  return { ok: true, clause: { claim, operator, comparand }, next: comparandEnd + 1 };
}

/**
 * True when every clause of the expression holds for the claims. Unparsable expressions, and claims
 * that are missing or not strings, never match: the safe answer for a trust decision.
 * Precondition: the claims come from a token whose signature and issuer the caller already verified.
 */
export function evaluateFicExpression(value: string, claims: Readonly<Record<string, unknown>>): boolean {
  const parsed = parseFicExpression(value);
  if (!parsed.ok) return false;
  return parsed.expression.clauses.every((clause) => {
    // Own properties only, so claims['constructor'] cannot reach Object.prototype.
    if (!Object.hasOwn(claims, clause.claim)) return false;
    const actual = claims[clause.claim];
    if (typeof actual !== 'string') return false;
    return clause.operator === 'eq' ? actual === clause.comparand : wildcardMatches(clause.comparand, actual);
  });
}

/**
 * Matches `?` (exactly one character) and `*` (any run, including empty) by hand, case-sensitively
 * (entra-federation.md: comparisons are exact). No RegExp is built from the pattern, so no character
 * in it can act as regex syntax, and the greedy-with-backtrack-point loop runs in O(pattern × text).
 */
export function wildcardMatches(pattern: string, text: string): boolean {
  // Code points, not UTF-16 units, so `?` consumes one whole character.
  const p = Array.from(pattern);
  const t = Array.from(text);
  let pi = 0;
  let ti = 0;
  let starPi = -1;
  let starTi = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === t[ti]))) {
      pi += 1;
      ti += 1;
    } else if (pi < p.length && p[pi] === '*') {
      starPi = pi;
      starTi = ti;
      pi += 1;
    } else if (starPi >= 0) {
      pi = starPi + 1;
      starTi += 1;
      ti = starTi;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi += 1;
  return pi === p.length;
}

/** One issuer family that may carry flexible FICs, with the claims and operators it allows. */
export interface FlexibleFicIssuer {
  displayName: string;
  /** True when the FIC's issuer belongs to this family (exact, case-sensitive URL comparison). */
  matchesIssuer(issuer: string): boolean;
  /** Allowed claim names, each with its allowed operators. */
  claims: Readonly<Record<string, readonly FicOperator[]>>;
}

const BOTH: readonly FicOperator[] = ['eq', 'matches'];
// GitLab self-managed/dedicated hosts look like https://gitlab.<name>.com (or .ca): one label between.
const GITLAB_HOST = /^https:\/\/gitlab\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.(?:com|ca)$/;

/** Issuers that allow flexible FICs and what each allows (protocols.md §A.7, E6). */
export const FLEXIBLE_FIC_ISSUERS: readonly FlexibleFicIssuer[] = [
  {
    displayName: 'GitHub Actions',
    matchesIssuer: (issuer) => issuer === 'https://token.actions.githubusercontent.com',
    claims: { sub: BOTH, job_workflow_ref: BOTH },
  },
  {
    displayName: 'GitLab',
    matchesIssuer: (issuer) => issuer === 'https://gitlab.com' || GITLAB_HOST.test(issuer),
    claims: { sub: BOTH },
  },
  {
    displayName: 'Terraform Cloud',
    matchesIssuer: (issuer) =>
      issuer === 'https://app.terraform.io' || issuer === 'https://app.eu.terraform.io',
    claims: { sub: BOTH },
  },
];

/**
 * Returns why a parsed expression is not allowed for this issuer, or undefined when it is: the issuer
 * must be one of {@link FLEXIBLE_FIC_ISSUERS} and every clause must use a claim and operator it allows.
 */
export function checkFlexibleFicAllowed(issuer: string, parsed: ParsedFicExpression): string | undefined {
  const family = FLEXIBLE_FIC_ISSUERS.find((candidate) => candidate.matchesIssuer(issuer));
  if (!family) return `issuer '${issuer}' does not support claims matching expressions`;
  for (const clause of parsed.clauses) {
    const operators = Object.hasOwn(family.claims, clause.claim) ? family.claims[clause.claim] : undefined;
    if (!operators) return `claim '${clause.claim}' is not supported for ${family.displayName} issuers`;
    if (!operators.includes(clause.operator)) {
      return `operator '${clause.operator}' is not supported for claim '${clause.claim}'`;
    }
  }
  return undefined;
}
