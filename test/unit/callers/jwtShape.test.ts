// Shape checks that run before jose: size cap, compact form, JSON objects, duplicates, control chars.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJwtShape, findDuplicateName } from '../../../shared/callers/jwtShape.js';
import { rawJwt, unsignedJwt } from '../../helpers/signer.js';

const ok = unsignedJwt({ alg: 'RS256', typ: 'JWT' }, { sub: '1', nested: { a: [1, { b: 'x' }] } });

describe('checkJwtShape', () => {
  it('takes a segment whose length leaves bits over when they are zero', () => {
    expect(checkJwtShape(ok.replace(/\.c2ln$/, '.c2k'), { maxBytes: 8192 }).header.alg).toBe('RS256');
  });

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
    // `c2k` is "si", and so is `c2l`, with the two bits left over set: the same bytes, spelt as no encoder
    // spells them.
    ['spare bits set in the signature', ok.replace(/\.c2ln$/, '.c2l'), 'empty or non-base64url'],
    ['a segment one character too long', ok.replace(/\.c2ln$/, '.c2lnA'), 'empty or non-base64url'],
    ['a character outside the alphabet', ok.replace(/\.c2ln$/, '.c2l!n'), 'empty or non-base64url'],
    ['a non-ASCII character', ok.replace(/\.c2ln$/, '.c2lné'), 'empty or non-base64url'],
    ['a non-JSON payload', rawJwt('{"alg":"RS256"}', 'not json'), 'payload is not JSON'],
    ['an array payload', rawJwt('{"alg":"RS256"}', '["a"]'), 'payload is not a JSON object'],
    ['a duplicate sub', rawJwt('{"alg":"RS256"}', '{"sub":"a","sub":"admin"}'), "repeats the name 'sub'"],
    ['a duplicate alg', rawJwt('{"alg":"HS256","alg":"RS256"}', '{}'), "header repeats the name 'alg'"],
    [
      'a newline in sub',
      unsignedJwt({ alg: 'RS256' }, { sub: 'a\nadmin' }),
      "claim 'sub' contains a control character",
    ],
    // JSON.stringify leaves DEL raw: in an all-ASCII payload it is the one control character a string can hold.
    [
      'a DEL in sub',
      unsignedJwt({ alg: 'RS256' }, { sub: 'a\u007fadmin' }),
      "claim 'sub' contains a control",
    ],
    [
      'a DEL in a claim name',
      unsignedJwt({ alg: 'RS256' }, { 'x\u007f': 1 }),
      "claim 'x?' contains a control",
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

  it('checks the payload and signature of every token whose header it has seen before', () => {
    const header = { alg: 'RS256', kid: 'k1', typ: 'JWT' };
    expect(checkJwtShape(unsignedJwt(header, { sub: '1' }), { maxBytes: 8192 }).payload.sub).toBe('1');

    const same = unsignedJwt(header, {}).split('.')[0];
    expect(() =>
      checkJwtShape(`${same}.${Buffer.from('{"sub":"a","sub":"b"}').toString('base64url')}.c2ln`, {
        maxBytes: 8192,
      }),
    ).toThrow("payload repeats the name 'sub'");
    expect(() => checkJwtShape(unsignedJwt(header, { sub: 'a\nb' }), { maxBytes: 8192 })).toThrow(
      "claim 'sub' contains a control character",
    );
    expect(() => checkJwtShape(`${same}.e30.c2l`, { maxBytes: 8192 })).toThrow('non-base64url');
  });

  it('answers each header for its own text, past the bound of headers it keeps', () => {
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 600; i++) {
        const { header } = checkJwtShape(unsignedJwt({ alg: 'ES256', kid: `key-${i}` }, {}), {
          maxBytes: 8192,
        });
        expect(header).toEqual({ alg: 'ES256', kid: `key-${i}` });
      }
  });

  it('shares a header between tokens only frozen, and only when it holds plain values', () => {
    const plain = () => checkJwtShape(unsignedJwt({ alg: 'RS256', kid: 'shared' }, {}), { maxBytes: 8192 });
    expect(plain().header).toBe(plain().header);
    expect(Object.isFrozen(plain().header)).toBe(true);

    const nested = () =>
      checkJwtShape(unsignedJwt({ alg: 'RS256', kid: 'n', crit: ['exp'] }, {}), { maxBytes: 8192 });
    const first = nested().header;
    (first.crit as string[]).push('changed');
    expect(nested().header.crit).toEqual(['exp']);
  });

  it('refuses a header that names a key by URL every time it is sent', () => {
    const token = unsignedJwt({ alg: 'RS256', jku: 'http://127.0.0.1:9/k' }, {});
    for (let i = 0; i < 3; i++)
      expect(() => checkJwtShape(token, { maxBytes: 8192 })).toThrow("header carries 'jku'");
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

// A JSON document as the generator builds it: members in text order, so a name may repeat.
type Doc = string | number | boolean | null | Doc[] | { members: Array<[string, Doc]> };
const isObjectDoc = (doc: Doc): doc is { members: Array<[string, Doc]> } =>
  typeof doc === 'object' && doc !== null && !Array.isArray(doc);

/**
 * The text of a document; escaped, JSON.stringify's escapes for names and strings. `gap` goes between each
 * name and its colon (JSON whitespace is allowed there).
 */
const docText = (doc: Doc, gap = ''): string =>
  Array.isArray(doc)
    ? `[${doc.map((item) => docText(item, gap)).join(',')}]`
    : isObjectDoc(doc)
      ? `{${doc.members.map(([name, value]) => `${JSON.stringify(name)}${gap}:${docText(value, gap)}`).join(',')}}`
      : JSON.stringify(doc);

/** The first name met again in its own object, in text order: what findDuplicateName must say. */
function firstRepeat(doc: Doc): string | undefined {
  if (Array.isArray(doc)) {
    for (const item of doc) {
      const found = firstRepeat(item);
      if (found !== undefined) return found;
    }
  } else if (isObjectDoc(doc)) {
    const seen = new Set<string>();
    for (const [name, value] of doc.members) {
      if (seen.has(name)) return name;
      seen.add(name);
      const found = firstRepeat(value);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Whether the claims may not pass: a control character or separator, `__proto__`, 32 levels deep. */
function unsafe(value: unknown, depth = 0): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters the broker refuses.
  const controlled = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
  if (typeof value === 'string') return controlled.test(value);
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= 32) return true;
  return Object.entries(value).some(
    ([key, child]) => controlled.test(key) || key === '__proto__' || unsafe(child, depth + 1),
  );
}

// Names and strings from a small alphabet, so names repeat, with the characters that need escapes and the
// ones the broker refuses.
const text = fc.string({
  unit: fc.constantFrom('a', 'b', '"', '\\', '/', ' ', ':', '{', '\n', '\u0085', '\u2028', 'é', '__proto__'),
  maxLength: 4,
});
const { doc } = fc.letrec<{ doc: Doc }>((tie) => ({
  doc: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.integer(),
    fc.constantFrom(true, false, null),
    fc.array(tie('doc'), { maxLength: 3 }),
    fc.record({ members: fc.array(fc.tuple(text, tie('doc')), { maxLength: 4 }) }),
  ),
}));
const payloadDoc = fc.record({ members: fc.array(fc.tuple(text, doc), { maxLength: 6 }) });

describe('the shape checks on any payload', () => {
  it('finds the first repeated name, in text with escapes or without', () => {
    fc.assert(
      fc.property(doc, (value) => {
        expect(findDuplicateName(docText(value))).toBe(firstRepeat(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses exactly the payloads with a repeated name or a claim the broker never passes', () => {
    fc.assert(
      fc.property(payloadDoc, fc.constantFrom('', ' ', '\t\n\r '), (value, gap) => {
        const token = rawJwt('{"alg":"RS256"}', docText(value, gap));
        const check = () => checkJwtShape(token, { maxBytes: 65_536 });
        // Repeated names are looked for first: a payload with one is refused for it.
        if (firstRepeat(value) !== undefined) expect(check).toThrow("payload repeats the name '");
        else if (unsafe(JSON.parse(docText(value)))) expect(check).toThrow("the subject token's claim '");
        else expect(check().payload).toEqual(JSON.parse(docText(value)));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses claims nested 32 levels deep whatever else the payload holds', () => {
    const deep = `${'['.repeat(32)}1${']'.repeat(32)}`;
    for (const payload of [`{"a":${deep}}`, `{"b":"plain","a":${deep}}`, `{"a":{"b":${deep.slice(1, -1)}}}`])
      expect(() => checkJwtShape(rawJwt('{"alg":"RS256"}', payload), { maxBytes: 8192 })).toThrow(
        'nests deeper than 32 levels',
      );
  });
});
