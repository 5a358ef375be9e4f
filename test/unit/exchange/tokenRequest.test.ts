// The token-exchange form parser: contract parameters only, each once, within the parameter limit,
// every field's syntax checked before the subject token is verified (issue 7).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/errors.js';
import { formPairs, parseTokenRequest, TOKEN_REQUEST_LIMITS } from '../../../shared/exchange/tokenRequest.js';

const BASE = {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  subject_token: 'a.b.c',
  audience: 'vault-reader',
};
const body = (params: Record<string, string>) => new URLSearchParams({ ...BASE, ...params }).toString();
const refusalOf = (text: string) => {
  try {
    parseTokenRequest(text);
  } catch (error) {
    if (error instanceof BrokerError) return { error: error.code, description: error.description };
    throw error;
  }
  throw new Error('parsed without a refusal');
};

describe('parseTokenRequest', () => {
  it('reads the contract parameters, an empty value counting as absent (RFC 6749 §3.2)', () => {
    expect(
      parseTokenRequest(`${body({ scope: 'https://vault.azure.net/.default' })}&requested_token_type=`),
    ).toEqual({
      subjectToken: 'a.b.c',
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      audience: 'vault-reader',
      scope: 'https://vault.azure.net/.default',
    });
  });

  it('refuses a flood of distinct parameter names by counting pairs, before parsing any (finding 1)', () => {
    const flood = Array.from({ length: 16_000 }, (_, i) => `p${i}=1`).join('&');

    expect(refusalOf(`${body({})}&${flood}`)).toEqual({
      error: 'invalid_request',
      description: `The request has more than ${TOKEN_REQUEST_LIMITS.parameters} parameters.`,
    });
  });

  it('accepts exactly the parameter limit and refuses one more', () => {
    const extra = (n: number) => Array.from({ length: n }, () => 'scope=').join('&');
    const at = `${body({})}&${extra(TOKEN_REQUEST_LIMITS.parameters - 4)}`;

    expect(parseTokenRequest(at).audience).toBe('vault-reader');
    expect(refusalOf(`${at}&scope=`).description).toBe(
      `The request has more than ${TOKEN_REQUEST_LIMITS.parameters} parameters.`,
    );
  });

  it('refuses a parameter outside the contract without echoing its name', () => {
    const refusal = refusalOf(`${body({})}&scopes%0D%0AX=1`);

    expect(refusal.error).toBe('invalid_request');
    expect(refusal.description).toMatch(
      /^The request carries a parameter this broker does not accept; the parameters are grant_type, /,
    );
    expect(refusal.description).not.toContain('scopes');
  });

  it.each([
    ['grant_type', `${body({})}&grant_type=x`],
    ['subject_token', `${body({})}&subject_token=x`],
    ['scope', `${body({ scope: 'a/.default' })}&scope=b/.default`],
  ])('refuses a repeated %s (RFC 6749 §3.2)', (name, text) => {
    expect(refusalOf(text)).toEqual({
      error: 'invalid_request',
      description: `The parameter '${name}' is given more than once.`,
    });
  });

  const AUDIENCE_SYNTAX =
    "The parameter 'audience' must be a target name: 1-64 letters, digits, '.', '_' or '-'.";
  const SCOPE_SYNTAX = 'The scope holds characters RFC 6749 does not allow in a scope.';
  it.each([
    ['CRLF in audience', { audience: 'vault\r\nreader' }, 'invalid_request', AUDIENCE_SYNTAX],
    ['NUL in audience', { audience: 'vault\0' }, 'invalid_request', AUDIENCE_SYNTAX],
    ['a URL as audience', { audience: 'https://vault.azure.net' }, 'invalid_request', AUDIENCE_SYNTAX],
    // No space in the injected text: one scope, refused for its characters and not for being two.
    ['CRLF in scope', { scope: 'https://vault.azure.net/.default\r\nX:y' }, 'invalid_scope', SCOPE_SYNTAX],
    ['NUL in scope', { scope: 'a\0/.default' }, 'invalid_scope', SCOPE_SYNTAX],
    ['a quote in scope', { scope: 'a"/.default' }, 'invalid_scope', SCOPE_SYNTAX],
    [
      'CRLF in grant_type',
      { grant_type: `${BASE.grant_type}\r\n` },
      'unsupported_grant_type',
      `Only the grant type ${BASE.grant_type} is supported.`,
    ],
    [
      'NUL in subject_token_type',
      { subject_token_type: `${BASE.subject_token_type}\0` },
      'invalid_request',
      expect.stringMatching(/^The subject_token_type must be one of /),
    ],
  ])('refuses %s with the contract error', (_name, params, error, description) => {
    expect(refusalOf(body(params))).toEqual({ error, description });
  });
});

// The parameters are read in one pass; what they give must be what a map of each name's values gives.
describe('parseTokenRequest, reading any mix of parameters', () => {
  const NAMES = ['grant_type', 'subject_token', 'subject_token_type', 'audience', 'scope', 'resource'];
  const pair = fc.tuple(
    fc.constantFrom(...NAMES, 'other'),
    fc.constantFrom('', 'x', 'vault-reader', 'a.b.c', BASE.grant_type, BASE.subject_token_type),
  );

  /** The reading as a map of every name's non-empty values, in first-appearance order. */
  function expected(pairs: [string, string][]): string {
    if (pairs.some(([name]) => name === 'other')) return 'unknown';
    const values = new Map<string, string[]>();
    for (const [name, value] of pairs) {
      if (value !== '') values.set(name, [...(values.get(name) ?? []), value]);
    }
    for (const [name, list] of values) {
      if (name !== 'audience' && list.length > 1) return `The parameter '${name}' is given more than once.`;
    }
    return JSON.stringify(Object.fromEntries(values));
  }

  it('refuses the first repeated parameter, or reads each one', () => {
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 12 }), (pairs) => {
        const text = new URLSearchParams(pairs).toString();
        const want = expected(pairs);
        let got: string;
        try {
          const read = parseTokenRequest(text);
          got = JSON.stringify(read);
        } catch (error) {
          got = (error as BrokerError).description;
        }
        if (want === 'unknown')
          expect(got).toMatch(/^The request carries a parameter this broker does not accept/);
        else if (want.startsWith('The parameter')) expect(got).toBe(want);
        else {
          const values = JSON.parse(want) as Record<string, string[]>;
          if (got.startsWith('{'))
            expect(JSON.parse(got)).toEqual({
              subjectToken: values.subject_token?.[0],
              subjectTokenType: values.subject_token_type?.[0],
              audience: values.audience?.[0],
              scope: values.scope?.[0],
            });
          else expect(got).not.toMatch(/is given more than once|does not accept/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

// formPairs is a fast path for URLSearchParams: it must agree with it on any body whatsoever.
describe('formPairs', () => {
  const formText = fc.string({
    unit: fc.constantFrom(
      'a',
      'Z',
      '0',
      '-',
      '_',
      '.',
      '~',
      '&',
      '=',
      '+',
      '%',
      '2',
      'F',
      'e',
      '9',
      ' ',
      'é',
      '\u2028',
      '\uD800',
      '😀',
      '%C3',
      '%A9',
      '%ZZ',
      '%E2%80',
      '%ED%A0%80',
      '%FF',
      '%25',
      '%2B',
      '%26',
      '%3D',
    ),
    maxLength: 60,
  });

  it('yields exactly the pairs URLSearchParams yields, for any body', () => {
    fc.assert(
      fc.property(formText, (body) => {
        expect(formPairs(body)).toEqual([...new URLSearchParams(body)]);
      }),
      { numRuns: 5000 },
    );
  });

  it('decodes a real token-exchange body as URLSearchParams does', () => {
    const body = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      scope: 'https://graph.microsoft.com/.default offline_access',
    }).toString();
    expect(formPairs(body)).toEqual([...new URLSearchParams(body)]);
    expect(formPairs(`${body}&&=&x`)).toEqual([...new URLSearchParams(`${body}&&=&x`)]);
  });
});
