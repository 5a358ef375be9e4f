// Shape checks that run before jose: size cap, compact form, JSON objects, duplicates, control chars.
import { describe, expect, it } from 'vitest';
import { checkJwtShape, findDuplicateName } from '../../../shared/callers/jwtShape.js';
import { rawJwt, unsignedJwt } from '../../helpers/signer.js';

const ok = unsignedJwt({ alg: 'RS256', typ: 'JWT' }, { sub: '1', nested: { a: [1, { b: 'x' }] } });

describe('checkJwtShape', () => {
  it('returns the decoded header and payload of a well-formed token', () => {
    expect(checkJwtShape(ok, { maxBytes: 8192 })).toEqual({
      header: { alg: 'RS256', typ: 'JWT' },
      payload: { sub: '1', nested: { a: [1, { b: 'x' }] } },
    });
  });

  it.each([
    ['empty', '', 'the subject token is empty'],
    ['over the cap', `${ok}${'A'.repeat(9000)}`, 'larger than 8192 bytes'],
    ['ten megabytes', 'A'.repeat(10 * 1024 * 1024), 'larger than 8192 bytes'],
    ['two segments', 'abc.def', 'not a compact JWS'],
    ['five segments (JWE)', 'a.b.c.d.e', 'not a compact JWS'],
    ['an empty signature', ok.replace(/\.[^.]+$/, '.'), 'empty or non-base64url'],
    ['padding', `${ok}=`, 'empty or non-base64url'],
    ['standard base64 alphabet', ok.replace(/\.c2ln$/, '.c2+/'), 'empty or non-base64url'],
    ['leading whitespace', ` ${ok}`, 'empty or non-base64url'],
    ['a non-JSON payload', rawJwt('{"alg":"RS256"}', 'not json'), 'payload is not JSON'],
    ['an array payload', rawJwt('{"alg":"RS256"}', '["a"]'), 'payload is not a JSON object'],
    ['a duplicate sub', rawJwt('{"alg":"RS256"}', '{"sub":"a","sub":"admin"}'), "repeats the name 'sub'"],
    ['a duplicate alg', rawJwt('{"alg":"HS256","alg":"RS256"}', '{}'), "header repeats the name 'alg'"],
    [
      'a newline in sub',
      unsignedJwt({ alg: 'RS256' }, { sub: 'a\nadmin' }),
      "claim 'sub' contains a control character",
    ],
    ['a C1 control nested', unsignedJwt({ alg: 'RS256' }, { g: { x: ['ok', 'a\u0085'] } }), "claim 'g.x[1]'"],
    // Issue 7, finding 3: JSON.stringify leaves U+2028/U+2029 raw, so they must never reach a log line.
    [
      'a line separator in email',
      unsignedJwt({ alg: 'RS256' }, { email: 'a\u2028b@p.iam.gserviceaccount.com' }),
      "claim 'email' contains a control character or line separator",
    ],
    [
      'a paragraph separator in a claim name',
      unsignedJwt({ alg: 'RS256' }, { 'x\u2029y': 1 }),
      'contains a control character or line separator',
    ],
    [
      'a __proto__ claim',
      rawJwt('{"alg":"RS256"}', '{"__proto__":{"sub":"1"}}'),
      "'__proto__' uses a reserved name",
    ],
    ...['jku', 'x5u', 'jwk', 'x5c'].map((name): [string, string, string] => [
      `a ${name} header`,
      unsignedJwt({ alg: 'RS256', [name]: name === 'jwk' ? { kty: 'oct' } : 'http://127.0.0.1:9/k' }, {}),
      `header carries '${name}', which this broker never uses`,
    ]),
  ])('refuses %s', (_name, token, reason) => {
    expect(() => checkJwtShape(token, { maxBytes: 8192 })).toThrow(reason);
  });

  it('accepts claims nested 31 levels deep and refuses 32, without recursing deeper', () => {
    const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
    const at = (levels: number) => rawJwt('{"alg":"RS256"}', `{"deep":${nested(levels)}}`);

    expect(checkJwtShape(at(31), { maxBytes: 8192 }).payload.deep).toBeDefined();
    expect(() => checkJwtShape(at(32), { maxBytes: 8192 })).toThrow(
      "the subject token's claim 'deep[0][0][0]",
    );
    expect(() => checkJwtShape(at(32), { maxBytes: 8192 })).toThrow('nests deeper than 32 levels');
    // At the largest cap config allows, 24,000 levels: a shape error, not a RangeError from the stack.
    expect(() => checkJwtShape(at(24_000), { maxBytes: 65_536 })).toThrow('nests deeper than 32 levels');
  });

  it('refuses invalid UTF-8', () => {
    const bad = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.c2ln`;
    expect(() => checkJwtShape(bad, { maxBytes: 8192 })).toThrow('not valid UTF-8');
  });
});

describe('findDuplicateName', () => {
  it.each([
    ['{"a":1,"b":{"a":2}}', undefined],
    ['{"a":"{\\"a\\":1,","b":[{"a":1},{"a":2}]}', undefined],
    ['{"a":1,"b":{"c":1,"c":2}}', 'c'],
    ['{"a\\u0062":1,"ab":2}', 'ab'],
    ['{"x":[{"y":1}],"x":2}', 'x'],
  ])('scans %s', (json, expected) => {
    expect(findDuplicateName(json)).toBe(expected);
  });
});
