// Request abuse against POST /api/token through the local Functions host (issue 7): bodies, content
// types, repeated and unknown parameters, floods, grant and token-type confusion, CRLF and NUL in every
// field, request smuggling, oversized and slow requests. Each answer is the contract's, exactly.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Answer,
  admittedGoogleClaims,
  type HostileSandbox,
  isContractError,
  issuerControl,
  JWT_TOKEN_TYPE,
  startHostileSandbox,
  TOKEN_EXCHANGE_GRANT,
} from './kit.js';

let sandbox: HostileSandbox;
let admitted: string;
let request: { audience: string; scope: string };

beforeAll(async () => {
  sandbox = await startHostileSandbox();
  const { endpoints } = sandbox;
  admitted = await issuerControl(endpoints.google.adminUrl).mint({ claims: admittedGoogleClaims(endpoints) });
  request = { audience: endpoints.demo.target, scope: endpoints.demo.scope };
});

afterAll(async () => {
  await sandbox?.close();
});

const expectRefusal = (answer: Answer, status: number, error: string, description: string | RegExp) => {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.json?.error).toBe(error);
  if (typeof description === 'string') expect(answer.json?.error_description).toBe(description);
  else expect(answer.json?.error_description).toMatch(description);
  expect(isContractError(answer)).toBe(true);
};

/** Decisions the broker has written so far: a request refused before the broker never adds one. */
const decisions = () => sandbox.output().split('"event":"token.decision"').length - 1;

/** Sends raw bytes on one connection and collects everything until the server closes it. */
function rawExchange(bytes: string, timeoutMs = 15_000): Promise<string> {
  const url = new URL(sandbox.endpoints.broker.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${received}`));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(bytes);
  });
}

describe('bodies and content types', () => {
  it('grants the admitted caller (the control every refusal below is measured against)', async () => {
    const answer = await sandbox.exchange({ subject_token: admitted, ...request });

    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a 1 MB body with invalid_request before decoding it', async () => {
    const answer = await sandbox.post(`subject_token=${'a'.repeat(1_048_576)}`);

    expectRefusal(answer, 400, 'invalid_request', 'The request body is too large.');
  });

  it.each([
    ['JSON', 'application/json'],
    ['plain text', 'text/plain'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['a look-alike type', 'application/x-www-form-urlencoded-evil'],
    ['no type at all', ''],
  ])('refuses a %s body', async (_name, type) => {
    const body = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: admitted,
    }).toString();

    const answer = await sandbox.post(body, { 'content-type': type });

    expectRefusal(
      answer,
      400,
      'invalid_request',
      'The request body must be application/x-www-form-urlencoded.',
    );
  });

  it.each([
    [
      'a charset other than UTF-8',
      { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' },
      'x=1',
    ],
    ['bytes that are not UTF-8', {}, Buffer.from([0x61, 0x3d, 0xff, 0xfe])],
  ])('refuses %s', async (_name, headers, body) => {
    expectRefusal(
      await sandbox.post(body, headers),
      400,
      'invalid_request',
      'The request body must be encoded in UTF-8.',
    );
  });

  it('accepts an explicit UTF-8 charset, quoted and in any case', async () => {
    const body = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token_type: JWT_TOKEN_TYPE,
      subject_token: admitted,
      ...request,
    }).toString();

    const answer = await sandbox.post(body, {
      'content-type': 'Application/X-WWW-Form-Urlencoded; Charset="UTF-8"',
    });

    expect(answer.status).toBe(200);
  });
});

describe('parameters', () => {
  it('refuses a flood of 16,000 distinct names at once, and an exchange running beside two floods completes (finding 1)', async () => {
    // The shape of the finding: about 16,000 distinct names (base-36 counters), under the 64 KiB cap.
    const flood = Array.from({ length: 16_000 }, (_, n) => n.toString(36)).join('&');
    expect(Buffer.byteLength(flood)).toBeLessThan(65_536);

    const [first, second, normal] = await Promise.all([
      sandbox.post(flood),
      sandbox.post(flood),
      sandbox.exchange({ subject_token: admitted, ...request }),
    ]);

    expectRefusal(first, 400, 'invalid_request', 'The request has more than 16 parameters.');
    expect(second.json).toEqual(first.json);
    expect(normal.status).toBe(200);
  });

  it.each([
    ['grant_type', { grant_type: TOKEN_EXCHANGE_GRANT }],
    ['subject_token', { subject_token: 'x' }],
    ['subject_token_type', { subject_token_type: JWT_TOKEN_TYPE }],
    ['scope', { scope: 'https://vault.azure.net/.default' }],
  ])('refuses a repeated %s, naming it', async (name, extra) => {
    const body = `${new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token_type: JWT_TOKEN_TYPE, subject_token: admitted, ...request })}&${new URLSearchParams(extra)}`;

    expectRefusal(
      await sandbox.post(body),
      400,
      'invalid_request',
      `The parameter '${name}' is given more than once.`,
    );
  });

  it('refuses two audiences with invalid_target', async () => {
    const body = `${new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token_type: JWT_TOKEN_TYPE, subject_token: admitted, ...request })}&audience=vault-reader-mi`;

    expectRefusal(
      await sandbox.post(body),
      400,
      'invalid_target',
      'Exactly one audience (target) may be requested.',
    );
  });

  it('refuses a parameter outside the contract without echoing its name', async () => {
    const answer = await sandbox.exchange({ subject_token: admitted, ...request, client_secret_probe: 'x' });

    expectRefusal(
      answer,
      400,
      'invalid_request',
      /^The request carries a parameter this broker does not accept/,
    );
    expect(answer.text).not.toContain('client_secret_probe');
  });

  it.each([
    'client_credentials',
    'authorization_code',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:jwt-bearer',
    'password',
  ])('refuses the grant type %s', async (grantType) => {
    const answer = await sandbox.exchange({ grant_type: grantType, subject_token: admitted, ...request });

    expectRefusal(
      answer,
      400,
      'unsupported_grant_type',
      'Only the grant type urn:ietf:params:oauth:grant-type:token-exchange is supported.',
    );
  });

  it.each([
    'urn:ietf:params:oauth:token-type:access_token',
    'urn:ietf:params:oauth:token-type:refresh_token',
    'urn:ietf:params:oauth:token-type:saml2',
    'urn:ietf:params:oauth:token-type:JWT',
  ])('refuses a valid Google token presented as %s', async (type) => {
    const answer = await sandbox.exchange({ subject_token: admitted, subject_token_type: type, ...request });

    expectRefusal(
      answer,
      400,
      'invalid_request',
      'The subject_token_type must be one of urn:ietf:params:oauth:token-type:jwt, urn:ietf:params:oauth:token-type:id_token, urn:ietf:params:aws:token-type:aws4_request.',
    );
  });

  it('refuses a valid Google token presented as a signed AWS request', async () => {
    const answer = await sandbox.exchange({
      subject_token: admitted,
      subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
      ...request,
    });

    expectRefusal(
      answer,
      401,
      'invalid_grant',
      'The signed AWS request was refused: it is not URL-encoded JSON.',
    );
  });

  it('grants the same token presented as an id_token', async () => {
    const answer = await sandbox.exchange({
      subject_token: admitted,
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      ...request,
    });

    expect(answer.status).toBe(200);
  });
});

describe('CRLF and NUL in every field', () => {
  const FIELDS = [
    'grant_type',
    'subject_token',
    'subject_token_type',
    'audience',
    'scope',
    'requested_token_type',
    'resource',
    'actor_token',
    'actor_token_type',
  ];
  // No space in the injected text, so that a scope is refused for its characters and not as two scopes.
  const INJECTIONS = [
    ['CRLF', '\r\nX-Injected:yes\r\n\r\n{"event":"token.decision","outcome":"granted"}'],
    ['NUL', '\0X-Injected'],
  ];
  /** Each field's refusal, the same for both injections: the check that reads the field says no. */
  const REFUSALS: Record<string, [number, string, string | RegExp]> = {
    grant_type: [400, 'unsupported_grant_type', `Only the grant type ${TOKEN_EXCHANGE_GRANT} is supported.`],
    // CRLF's text adds dots (more than three segments), NUL's a byte base64url lacks: both are shape refusals.
    subject_token: [
      401,
      'invalid_grant',
      /^The subject token was refused: the subject token (is not a compact JWS \(three segments\)|has an empty or non-base64url segment)\.$/,
    ],
    subject_token_type: [400, 'invalid_request', /^The subject_token_type must be one of /],
    audience: [
      400,
      'invalid_request',
      "The parameter 'audience' must be a target name: 1-64 letters, digits, '.', '_' or '-'.",
    ],
    scope: [400, 'invalid_scope', 'The scope holds characters RFC 6749 does not allow in a scope.'],
    requested_token_type: [
      400,
      'invalid_request',
      'The only requested_token_type issued is urn:ietf:params:oauth:token-type:access_token.',
    ],
    resource: [400, 'invalid_request', "Name the target with 'audience'; 'resource' is not supported."],
    actor_token: [400, 'invalid_request', 'Actor tokens are not supported.'],
    actor_token_type: [400, 'invalid_request', 'Actor tokens are not supported.'],
  };

  it.each(
    FIELDS.flatMap((field) =>
      INJECTIONS.map(([kind, text]) => [field, kind as string, text as string] as const),
    ),
  )(
    '%s with %s gets its exact contract error, is never echoed, and never reaches a header or a log line',
    async (field, _kind, text) => {
      const base: Record<string, string> = {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token_type: JWT_TOKEN_TYPE,
        subject_token: admitted,
        ...request,
      };
      base[field] = `${base[field] ?? 'x'}${text}`;

      const answer = await sandbox.post(new URLSearchParams(base).toString());

      const [status, error, description] = REFUSALS[field] as [number, string, string | RegExp];
      expectRefusal(answer, status, error, description);
      expect(answer.text).not.toContain('X-Injected');
      expect(answer.headers.get('x-injected')).toBeNull();
      expect(sandbox.output()).not.toContain('X-Injected');
    },
  );
});

describe('the HTTP layer (the local host, as the Functions host)', () => {
  it('never lets a body smuggle a second request past Content-Length with Transfer-Encoding', async () => {
    const before = decisions();
    const smuggled = 'GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n';
    const chunk = `0\r\n\r\n${smuggled}`;

    const received = await rawExchange(
      `POST /api/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`,
    );

    expect(received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 400']);
    expect(decisions()).toBe(before);
  });

  it('refuses headers larger than the host allows before the broker runs', async () => {
    const before = decisions();

    const answer = await sandbox.post('x=1', { 'x-padding': 'a'.repeat(40_000) });

    expect(answer.status).toBe(431);
    expect(decisions()).toBe(before);
  });

  it('ignores an Authorization header and never logs it', async () => {
    const before = decisions();

    // A well-formed exchange whose subject token is worthless: an admitted token in the header must not
    // stand in for it.
    const answer = await sandbox.post(
      new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token_type: JWT_TOKEN_TYPE,
        subject_token: 'x',
        ...request,
      }).toString(),
      { authorization: `Bearer ${admitted}` },
    );

    expectRefusal(
      answer,
      401,
      'invalid_grant',
      'The subject token was refused: the subject token is not a compact JWS (three segments).',
    );
    expect(decisions()).toBe(before + 1);
    expect(sandbox.output()).not.toContain(admitted);
  });

  it('cuts off a body that trickles in below the minimum data rate, and the broker never runs', async () => {
    const before = decisions();
    const url = new URL(sandbox.endpoints.broker.url);
    const socket = net.connect(Number(url.port), url.hostname);
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.write(
      'POST /api/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n',
    );
    const trickle = setInterval(() => socket.writable && socket.write('a'), 250);

    const closed = await new Promise<boolean>((resolve) => {
      const timeout = setTimeout(() => resolve(false), 15_000);
      socket.on('close', () => {
        clearTimeout(timeout);
        resolve(true);
      });
    });
    clearInterval(trickle);

    expect(closed).toBe(true);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(decisions()).toBe(before);
  });
});
