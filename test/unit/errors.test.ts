// toWireError: exposed errors keep their code and description; anything else becomes a fixed 500.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError, errorKind, toWireError } from '../../shared/errors.js';
import { type LogTarget, logEvent, toLogLine } from '../../shared/log.js';

const noStore = {
  'Content-Type': 'application/json;charset=UTF-8',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

describe('toWireError', () => {
  it.each([
    ['invalid_request', 400, 'subject_token is missing'],
    ['invalid_grant', 401, 'the subject token has expired'],
    ['access_denied', 403, 'policy refused'],
    ['invalid_target', 400, 'unknown target'],
  ] as const)('exposes %s with status %i', (code, status, description) => {
    const wire = toWireError(new BrokerError(code, status, description, { cause: new Error('internal') }));

    expect(wire).toEqual({ status, headers: noStore, body: { error: code, error_description: description } });
  });

  it('sends Retry-After (whole seconds) with temporarily_unavailable and keeps its description', () => {
    const wire = toWireError(
      new BrokerError('temporarily_unavailable', 503, 'Entra is unreachable', { retryAfterSeconds: 4.2 }),
    );

    expect(wire.status).toBe(503);
    expect(wire.headers['Retry-After']).toBe('5');
    expect(wire.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'Entra is unreachable',
    });
  });

  it.each([
    ['a plain Error', new Error('eyJhbGciOiJSUzI1NiJ9.secret.token')],
    ['a server_error BrokerError', new BrokerError('server_error', 500, 'db password is hunter2')],
    ['a thrown string', 'eyJhbGciOiJSUzI1NiJ9.secret.token'],
  ])('hides %s behind a fixed 500', (_name, thrown) => {
    const wire = toWireError(thrown);

    expect(wire.status).toBe(500);
    expect(wire.body.error).toBe('server_error');
    expect(JSON.stringify(wire)).not.toMatch(/secret|hunter2/);
  });
});

describe('logEvent', () => {
  it('drops every field that is not on the event allow-list', () => {
    const lines: string[] = [];
    const target: LogTarget = { info: (line) => lines.push(String(line)), warn: () => {}, error: () => {} };

    logEvent(target, 'info', 'health.checked', { status: 'ok', token: 'eyJ.secret' } as never);

    expect(lines).toEqual(['{"event":"health.checked","status":"ok"}']);
  });

  it("writes the allowed fields in the allow-list's order, and only the event's own defined ones", () => {
    const lines: string[] = [];
    const target: LogTarget = { info: (line) => lines.push(String(line)), warn: () => {}, error: () => {} };
    // A field inherited from a prototype is not the event's: never written, whatever its name.
    const fields = Object.assign(Object.create({ caller: 'inherited', subjectTokenSha256: 'x' }), {
      durationMs: 1,
      target: 'vault-reader',
      rule: undefined,
      outcome: 'granted',
    });

    logEvent(target, 'info', 'token.decision', fields);

    expect(lines).toEqual([
      '{"event":"token.decision","outcome":"granted","target":"vault-reader","durationMs":1}',
    ]);
  });

  it('writes every character outside printable ASCII as an escape, so no value can break a line (finding 3)', () => {
    const lines: string[] = [];
    const target: LogTarget = { info: (line) => lines.push(String(line)), warn: () => {}, error: () => {} };
    const caller = 'google:1(a\u2028b\u2029c\u0085d\u007fe\u202ef\u00e9g@p.iam.gserviceaccount.com)';

    logEvent(target, 'info', 'token.decision', { caller });

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^[\x20-\x7e]+$/);
    expect(lines[0]).toContain('\\u2028b\\u2029c\\u0085d\\u007fe\\u202ef\\u00e9g');
    expect(JSON.parse(lines[0] as string)).toEqual({ event: 'token.decision', caller });
  });

  it('writes any text as printable ASCII that parses back to it, DEL alone included', () => {
    for (const text of ['\u007f', 'a\u007f', '\u0080', '\ud800', 'plain']) {
      expect(toLogLine({ text })).toMatch(/^[\x20-\x7e]+$/);
      expect(JSON.parse(toLogLine({ text }))).toEqual({ text });
    }
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: fc.constantFrom('a', '\u007f', ' ') }),
        (a, b) => {
          const line = toLogLine({ a, b });
          expect(line).toMatch(/^[\x20-\x7e]+$/);
          expect(JSON.parse(line)).toEqual({ a, b });
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('error_description characters', () => {
  it('keeps descriptions inside RFC 6749 §5.2 (no double quote, no backslash, ASCII only)', () => {
    const wire = toWireError(new BrokerError('invalid_request', 400, 'claim "sub" with \\ and é\n'));

    expect(wire.body.error_description).toBe("claim 'sub' with / and ??");
  });
});

describe('errorKind', () => {
  it("keeps a failure's plain name, code, HTTP status and request id, and nothing else", () => {
    const sdk = Object.assign(new Error('answer <Token>eyJ-canary</Token>'), {
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 400, requestId: 'a1b2-c3' },
      $responseBodyText: 'eyJ-canary',
    });
    const rest = Object.assign(new Error('Forbidden'), {
      name: 'RestError',
      code: 'Forbidden',
      statusCode: 403,
      request: { body: '{"value":"eyJ-canary"}' },
    });

    expect(errorKind(sdk)).toEqual({
      name: 'InvalidSignatureException',
      statusCode: 400,
      requestId: 'a1b2-c3',
    });
    expect(errorKind(rest)).toEqual({ name: 'RestError', code: 'Forbidden', statusCode: 403 });
  });

  it('drops a name, code or request id that is not plain, and names anything else Error', () => {
    const odd = Object.assign(new Error('x'), {
      name: 'Bad name\n',
      code: 'code with spaces eyJ-canary',
      $metadata: { requestId: 'id\r\nX-Injected: 1' },
    });

    expect(errorKind(odd)).toEqual({ name: 'Error' });
    expect(errorKind('eyJ-canary')).toEqual({ name: 'Error' });
    expect(errorKind(null)).toEqual({ name: 'Error' });
  });
});
