// The token-exchange form parser: contract parameters only, each once, within the parameter limit,
// every field's syntax checked before the subject token is verified (issue 7).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/errors.js';
import {
  decodingMemoHolds,
  formPairs,
  parseTokenRequest,
  TOKEN_REQUEST_LIMITS,
} from '../../../shared/exchange/tokenRequest.js';

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
  it('reads a contract name without "=" as an empty value, and refuses an unknown one so given', () => {
    expect(parseTokenRequest(`${body({})}&scope`).scope).toBeUndefined();
    // An empty value counts as absent, so it does not repeat the scope given with a value.
    expect(parseTokenRequest(`scope&${body({ scope: 'api://x/.default' })}&scope`).scope).toBe(
      'api://x/.default',
    );
    expect(refusalOf(`${body({})}&bogus`).error).toBe('invalid_request');
  });

  it("keeps short escaped names and values in its decoding memo, but never a caller's token", () => {
    const scope = 'api://memo-probe/.default';
    const subject = 'short+subject/token';
    const actor = 'short+actor/token';
    expect(parseTokenRequest(body({ subject_token: subject, scope })).subjectToken).toBe(subject);
    expect(refusalOf(body({ subject_token: subject, actor_token: actor })).description).toBe(
      'Actor tokens are not supported.',
    );
    // The scope was escaped on the wire (':' and '/'), so it went through the memo: the probe sees it.
    expect(decodingMemoHolds(scope)).toBe(true);
    for (const token of [subject, actor]) {
      expect(decodingMemoHolds(token)).toBe(false);
      expect(decodingMemoHolds(new URLSearchParams({ t: token }).toString().slice(2))).toBe(false);
    }
  });

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

// The parameters are read in one pass; what they give must be what a map of each name's values gives:
// the same refusal for an unknown or repeated name or too many pairs, and otherwise the same outcome as a
// plain form of each name's first value (and every audience), whatever that outcome is.
describe('parseTokenRequest, reading any mix of parameters', () => {
  const NAMES = [
    'grant_type',
    'subject_token',
    'subject_token_type',
    'audience',
    'scope',
    'resource',
    'requested_token_type',
    'actor_token',
  ];
  const VALUES = [
    '',
    'x',
    'vault-reader',
    'reader-2',
    'a.b.c',
    'https://vault.azure.net/.default',
    BASE.grant_type,
    BASE.subject_token_type,
    'urn:ietf:params:oauth:token-type:access_token',
  ];
  // A name as a client might write it: plain, or with its '_' percent-encoded.
  const pair = fc.tuple(fc.constantFrom(...NAMES, 'other'), fc.constantFrom(...VALUES), fc.boolean());
  const valid: [string, string, boolean][] = Object.entries(BASE).map(([name, value]) => [
    name,
    value,
    false,
  ]);
  const forms = fc
    .tuple(fc.array(pair, { maxLength: 20 }), fc.boolean())
    .map(([extra, withBase]) => (withBase ? [...valid, ...extra] : extra));
  const text = (pairs: [string, string, boolean][]) =>
    pairs
      .map(([name, value, encoded]) => {
        const written = encoded ? name.replaceAll('_', '%5F') : name;
        return `${written}=${encodeURIComponent(value)}`;
      })
      .join('&');
  const outcome = (body: string) => {
    try {
      return { read: parseTokenRequest(body) };
    } catch (error) {
      return { refused: [(error as BrokerError).code, (error as BrokerError).description] };
    }
  };

  /** The refusal of the reading itself, or the plain form that must read the same. */
  function expected(pairs: [string, string, boolean][]): { refusal: string | RegExp } | { plain: string } {
    if (pairs.length > TOKEN_REQUEST_LIMITS.parameters)
      return { refusal: `The request has more than ${TOKEN_REQUEST_LIMITS.parameters} parameters.` };
    if (pairs.some(([name]) => name === 'other'))
      return { refusal: /^The request carries a parameter this broker does not accept/ };
    const values = new Map<string, string[]>();
    for (const [name, value] of pairs) {
      if (value !== '') values.set(name, [...(values.get(name) ?? []), value]);
    }
    for (const [name, list] of values) {
      if (name !== 'audience' && list.length > 1)
        return { refusal: `The parameter '${name}' is given more than once.` };
    }
    const plain = [...values].flatMap(([name, list]) =>
      (name === 'audience' ? list : list.slice(0, 1)).map((value): [string, string] => [name, value]),
    );
    return { plain: new URLSearchParams(plain).toString() };
  }

  it('refuses as a map of the values would, and otherwise reads what a plain form reads', () => {
    fc.assert(
      fc.property(forms, (pairs) => {
        const want = expected(pairs);
        const got = outcome(text(pairs));
        if ('plain' in want) expect(got).toEqual(outcome(want.plain));
        else if (typeof want.refusal === 'string') expect(got.refused?.[1]).toBe(want.refusal);
        else expect(got.refused?.[1]).toMatch(want.refusal);
      }),
      { numRuns: 4000 },
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
