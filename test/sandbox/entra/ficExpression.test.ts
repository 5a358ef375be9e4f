// Tests the flexible FIC expression language (protocols.md §A.7): parser, evaluator, wildcards, issuer allow-list.
import { describe, expect, it } from 'vitest';
import {
  checkFlexibleFicAllowed,
  evaluateFicExpression,
  FLEXIBLE_FIC_ISSUERS,
  parseFicExpression,
  wildcardMatches,
} from '../../../sandbox/entra/ficExpression.js';

const GITHUB = 'https://token.actions.githubusercontent.com';

describe('parseFicExpression', () => {
  it('parses the documented example into two clauses', () => {
    // Prepare
    const value =
      "claims['sub'] matches 'repo:contoso/contoso-repo:ref:refs/heads/*' and claims['job_workflow_ref'] eq 'contoso/wf.yml@refs/heads/main'";

    // Act
    const result = parseFicExpression(value);

    // Assess
    expect(result).toEqual({
      ok: true,
      expression: {
        clauses: [
          { claim: 'sub', operator: 'matches', comparand: 'repo:contoso/contoso-repo:ref:refs/heads/*' },
          { claim: 'job_workflow_ref', operator: 'eq', comparand: 'contoso/wf.yml@refs/heads/main' },
        ],
      },
    });
  });

  it('keeps spaces and keywords inside a comparand as text', () => {
    // Act
    const result = parseFicExpression("claims['sub'] eq 'a and claims b'");

    // Assess
    expect(result).toEqual({
      ok: true,
      expression: { clauses: [{ claim: 'sub', operator: 'eq', comparand: 'a and claims b' }] },
    });
  });

  it.each([
    ['empty string', '', "expected claims['<name>'] at position 0"],
    ['double quotes on the claim', 'claims["sub"] eq \'x\'', "expected claims['<name>'] at position 0"],
    ['unterminated claim', "claims['sub eq 'x'", 'unterminated claim lookup at position 0'],
    ['empty claim name', "claims[''] eq 'x'", 'empty claim name at position 8'],
    ['two spaces before the operator', "claims['sub']  eq 'x'", 'expected operator'],
    ['no space before the operator', "claims['sub']eq 'x'", 'expected one space at position 13'],
    ['unknown operator', "claims['sub'] like 'x'", 'expected operator'],
    ['upper-case operator', "claims['sub'] EQ 'x'", 'expected operator'],
    ['unquoted comparand', "claims['sub'] eq x", 'expected a single-quoted comparand at position 17'],
    ['double-quoted comparand', 'claims[\'sub\'] eq "x"', 'expected a single-quoted comparand'],
    ['unterminated comparand', "claims['sub'] eq 'x", 'unterminated comparand at position 17'],
    ['trailing text', "claims['sub'] eq 'x' ", "expected ' and ' or the end"],
    ['or instead of and', "claims['sub'] eq 'x' or claims['sub'] eq 'y'", "expected ' and ' or the end"],
    ['dangling and', "claims['sub'] eq 'x' and ", "expected claims['<name>'] at position 25"],
    ['quote inside the comparand (no escapes)', "claims['sub'] eq 'it''s'", "expected ' and ' or the end"],
  ])('refuses %s', (_label, value, reason) => {
    // Act
    const result = parseFicExpression(value);

    // Assess
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });
});

describe('wildcardMatches', () => {
  it.each([
    ['exact text', 'abc', 'abc', true],
    ['case differs', 'abc', 'ABC', false],
    ['? is one character', 'a?c', 'abc', true],
    ['? needs a character', 'a?c', 'ac', false],
    ['? is one code point, not one UTF-16 unit', 'a?c', 'a😀c', true],
    ['* matches many', 'refs/heads/*', 'refs/heads/feature/x', true],
    ['* matches none', 'refs/heads/*', 'refs/heads/', true],
    ['* in the middle backtracks', 'a*b*c', 'axxbyyc', true],
    ['* in the middle still anchors the end', 'a*b', 'axxbyy', false],
    ['anchored at the start', 'heads/*', 'refs/heads/main', false],
    ['regex metacharacters are literal', 'a.c', 'abc', false],
    ['regex metacharacters match themselves', '(a|b)+[x]$', '(a|b)+[x]$', true],
    ['backslash is literal', 'a\\*', 'a\\zz', true],
    ['empty pattern matches only empty', '', 'x', false],
  ])('%s', (_label, pattern, text, expected) => {
    // Act / Assess
    expect(wildcardMatches(pattern, text)).toBe(expected);
  });

  it('stays fast on a pathological pattern', () => {
    // Prepare: a pattern that makes naive backtracking regexes exponential
    const pattern = `${'*a'.repeat(30)}b`;
    const text = 'a'.repeat(5000);
    const started = performance.now();

    // Act
    const matched = wildcardMatches(pattern, text);

    // Assess
    expect(matched).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('evaluateFicExpression', () => {
  const claims = { sub: 'repo:contoso/app:ref:refs/heads/main', job_workflow_ref: 'contoso/wf.yml@v1', n: 5 };

  it.each([
    ['matching wildcard', "claims['sub'] matches 'repo:contoso/app:ref:refs/heads/*'", true],
    ['non-matching wildcard', "claims['sub'] matches 'repo:contoso/other:*'", false],
    ['eq exact', "claims['sub'] eq 'repo:contoso/app:ref:refs/heads/main'", true],
    ['eq does not expand wildcards', "claims['sub'] eq 'repo:contoso/app:ref:refs/heads/*'", false],
    ['eq is case-sensitive', "claims['sub'] eq 'REPO:contoso/app:ref:refs/heads/main'", false],
    [
      'and needs both (both hold)',
      "claims['sub'] matches 'repo:contoso/*' and claims['job_workflow_ref'] eq 'contoso/wf.yml@v1'",
      true,
    ],
    [
      'and needs both (second fails)',
      "claims['sub'] matches 'repo:contoso/*' and claims['job_workflow_ref'] eq 'contoso/wf.yml@v2'",
      false,
    ],
    ['missing claim', "claims['environment'] matches '*'", false],
    ['non-string claim', "claims['n'] matches '*'", false],
    ['inherited property is not a claim', "claims['constructor'] matches '*'", false],
    ['unparsable expression', "claims['sub'] ~ '*'", false],
  ])('%s', (_label, expression, expected) => {
    // Act / Assess
    expect(evaluateFicExpression(expression, claims)).toBe(expected);
  });
});

describe('checkFlexibleFicAllowed', () => {
  const parse = (value: string) => {
    const result = parseFicExpression(value);
    if (!result.ok) throw new Error(result.reason);
    return result.expression;
  };

  it.each([
    [GITHUB, "claims['sub'] matches 'repo:*'"],
    [GITHUB, "claims['job_workflow_ref'] eq 'x'"],
    ['https://gitlab.com', "claims['sub'] matches 'project_path:*'"],
    ['https://gitlab.example.com', "claims['sub'] eq 'x'"],
    ['https://gitlab.example.ca', "claims['sub'] eq 'x'"],
    ['https://app.terraform.io', "claims['sub'] matches 'organization:*'"],
    ['https://app.eu.terraform.io', "claims['sub'] matches 'organization:*'"],
  ])('allows %s with %s', (issuer, expression) => {
    // Act / Assess
    expect(checkFlexibleFicAllowed(issuer, parse(expression))).toBeUndefined();
  });

  it.each([
    [
      'https://accounts.google.com',
      "claims['sub'] eq 'x'",
      "issuer 'https://accounts.google.com' does not support",
    ],
    [`${GITHUB}/`, "claims['sub'] eq 'x'", 'does not support claims matching expressions'],
    ['https://gitlab.com.evil.example', "claims['sub'] eq 'x'", 'does not support'],
    ['https://gitlab.a.b.com', "claims['sub'] eq 'x'", 'does not support'],
    ['http://gitlab.com', "claims['sub'] eq 'x'", 'does not support'],
    [
      GITHUB,
      "claims['environment'] eq 'prod'",
      "claim 'environment' is not supported for GitHub Actions issuers",
    ],
    [
      'https://gitlab.com',
      "claims['job_workflow_ref'] eq 'x'",
      "claim 'job_workflow_ref' is not supported for GitLab",
    ],
    [
      'https://app.terraform.io',
      "claims['sub'] eq 'x' and claims['aud'] eq 'y'",
      "claim 'aud' is not supported",
    ],
    [GITHUB, "claims['constructor'] eq 'x'", "claim 'constructor' is not supported"],
  ])('refuses %s with %s', (issuer, expression, reason) => {
    // Act / Assess
    expect(checkFlexibleFicAllowed(issuer, parse(expression))).toContain(reason);
  });

  it('lists exactly the three documented issuer families', () => {
    // Assess
    expect(FLEXIBLE_FIC_ISSUERS.map((family) => family.displayName)).toEqual([
      'GitHub Actions',
      'GitLab',
      'Terraform Cloud',
    ]);
  });
});
