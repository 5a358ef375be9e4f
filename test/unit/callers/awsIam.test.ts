// The aws-iam caller verifier with a hand-written fake STS: every check before forwarding (nothing is
// sent when one fails), what is forwarded, and how each STS answer maps to the contract (issue 8).
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsIamVerifier } from '../../../shared/callers/awsIam.js';
import { createAwsSubjectToken } from '../../../shared/client/awsSubjectToken.js';
import { toWireError } from '../../../shared/errors.js';
import { endlessAnswer } from '../../helpers/endlessAnswer.js';

const AUDIENCE = 'https://broker.example.com';
const STS = 'https://sts.eu-west-1.amazonaws.com';
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const ROLE = {
  accessKeyId: 'ASIAEXAMPLECALLER001',
  secretAccessKey: 'caller-secret-key-0000000000000000000000',
  sessionToken: 'caller-session-token',
};
const ROLE_ANSWER = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::111122223333:assumed-role/payments-app/i-0abc</Arn>
    <UserId>AROAEXAMPLECALLER0001:i-0abc</UserId>
    <Account>111122223333</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>5c1e0b3a-1111-2222-3333-444455556666</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`;
const errorAnswer = (code: string) =>
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>`;

let sent: Array<{ url: string; init: RequestInit }> = [];
let answer: () => Response | Promise<Response>;
const fakeFetch: typeof fetch = async (url, init) => {
  sent.push({ url: String(url), init: init ?? {} });
  return answer();
};
afterEach(() => {
  sent = [];
});

const verifier = () =>
  createAwsIamVerifier({
    audience: AUDIENCE,
    stsEndpoints: [STS, 'https://sts.amazonaws.com'],
    timeoutMs: 1000,
    maxTokenBytes: 8192,
    clockSkewSeconds: 60,
    clock: { now: () => NOW },
    fetch: fakeFetch,
  });
const token = (overrides: Partial<Parameters<typeof createAwsSubjectToken>[0]> = {}) =>
  createAwsSubjectToken({
    brokerAudience: AUDIENCE,
    region: 'eu-west-1',
    credentials: ROLE,
    signingDate: new Date(NOW),
    ...overrides,
  });
/** The serialised request, decoded, changed, and encoded again. */
const edit = async (
  change: (request: { url: string; method: string; headers: Array<{ key: string; value: string }> }) => void,
) => {
  const request = JSON.parse(decodeURIComponent(await token()));
  change(request);
  return encodeURIComponent(JSON.stringify(request));
};
const wireOf = async (subjectToken: string) => {
  const error = await verifier()
    .verify(subjectToken)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  const { status, body, headers } = toWireError(error);
  return { status, body, retryAfter: headers['Retry-After'] };
};

describe('aws-iam verifier', () => {
  it('forwards the signed request to STS as signed and types the role session STS names', async () => {
    answer = () => new Response(ROLE_ANSWER, { status: 200, headers: { 'content-type': 'text/xml' } });

    const verified = await verifier().verify(await token());

    expect(verified).toEqual({
      principal: {
        kind: 'aws-iam',
        subject: 'arn:aws:sts::111122223333:assumed-role/payments-app/i-0abc',
        partition: 'aws',
        account: '111122223333',
        type: 'role',
        name: 'payments-app',
        sessionName: 'i-0abc',
        userId: 'AROAEXAMPLECALLER0001',
      },
      expiresAt: NOW / 1000 + 300,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe(`${STS}/?Action=GetCallerIdentity&Version=2011-06-15`);
    expect(sent[0]?.init).toMatchObject({ method: 'POST', body: '', redirect: 'manual' });
    const headers = Object.fromEntries(sent[0]?.init.headers as Array<[string, string]>);
    // Exactly what the SDK's signer produced, less Host (fetch sets it from the same URL).
    expect(Object.keys(headers).sort()).toEqual([
      'authorization',
      'x-amz-content-sha256',
      'x-amz-date',
      'x-amz-security-token',
      'x-broker-audience',
    ]);
    expect(headers['x-broker-audience']).toBe(AUDIENCE);
    expect(headers.authorization).toMatch(
      /SignedHeaders=[a-z0-9;-]*host;[a-z0-9;-]*x-amz-date;[a-z0-9;-]*x-broker-audience,/,
    );
  });

  it('types an IAM user without its path', async () => {
    answer = () =>
      new Response(
        '<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/ops/ci/deployer</Arn><UserId>AIDAEXAMPLEDEPLOYER1</UserId><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>',
      );

    const { principal } = await verifier().verify(await token());

    expect(principal).toMatchObject({
      type: 'user',
      name: 'deployer',
      sessionName: undefined,
      userId: 'AIDAEXAMPLEDEPLOYER1',
    });
  });

  const refusal = (description: string) => ({
    status: 401,
    body: {
      error: 'invalid_grant',
      error_description: `The signed AWS request was refused: ${description}.`,
    },
    retryAfter: undefined,
  });

  it.each([
    [
      'no binding header',
      () =>
        token({ brokerAudience: '' }).then(() =>
          edit((r) => {
            r.headers = r.headers.filter((h) => h.key !== 'x-broker-audience');
          }),
        ),
      'it is not bound to this broker (no x-broker-audience header)',
    ],
    [
      'a binding header for another broker',
      () => token({ brokerAudience: 'https://other.example' }),
      'its x-broker-audience names another broker',
    ],
    [
      'an unsigned binding header',
      () =>
        edit((r) => {
          const auth = r.headers.find((h) => h.key === 'authorization') as { value: string };
          auth.value = auth.value.replace(';x-broker-audience', '');
        }),
      'its x-broker-audience header is not signed',
    ],
    [
      'a signature made for another host',
      () =>
        edit((r) => {
          r.url = 'https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15';
        }),
      "its host header must be its url's host",
    ],
    [
      'an endpoint outside the allow-list',
      () => token({ stsEndpoint: 'https://127.0.0.1:9' }),
      'its url is not an STS endpoint this broker uses',
    ],
    [
      'an http endpoint',
      () =>
        edit((r) => {
          r.url = r.url.replace('https:', 'http:');
        }),
      'its url must be https, without credentials or fragment',
    ],
    [
      'extra URL parameters',
      () =>
        edit((r) => {
          r.url += '&Action=AssumeRole';
        }),
      'its url must be the endpoint with exactly ?Action=GetCallerIdentity&Version=2011-06-15',
    ],
    [
      'another method',
      () =>
        edit((r) => {
          r.method = 'GET';
        }),
      'it must be exactly {url, method: POST, headers: [{key, value}]} with printable header values',
    ],
    [
      'an extra member',
      () =>
        edit((r) => {
          Object.assign(r, { body: 'Action=AssumeRole' });
        }),
      'it must be exactly {url, method: POST, headers: [{key, value}]} with printable header values',
    ],
    [
      'a duplicated header',
      () =>
        edit((r) => {
          r.headers.push({ key: 'X-Amz-Date', value: '20261130T120000Z' });
        }),
      'it repeats the header x-amz-date',
    ],
    [
      'a header the broker does not forward',
      () =>
        edit((r) => {
          r.headers.push({ key: 'x-forwarded-host', value: 'evil' });
        }),
      'it carries a header this broker does not forward',
    ],
    [
      'a CRLF in a header value',
      () =>
        edit((r) => {
          (r.headers[0] as { value: string }).value += '\r\nX: y';
        }),
      'it must be exactly {url, method: POST, headers: [{key, value}]} with printable header values',
    ],
    [
      'a signing date 10 minutes old',
      () => token({ signingDate: new Date(NOW - 10 * 60_000) }),
      'it was signed outside the time window STS accepts',
    ],
    ['bad JSON', async () => encodeURIComponent('{"url":'), 'it is not URL-encoded JSON'],
    ['a bad percent-escape', async () => '%E0%A4%A', 'it is not URL-encoded JSON'],
    [
      'a repeated JSON member',
      async () => encodeURIComponent('{"url":"a","url":"b","method":"POST","headers":[]}'),
      'its JSON repeats a member name',
    ],
    ['a token over the size cap', async () => 'a'.repeat(9000), 'it is larger than 8192 bytes'],
  ])('refuses %s without calling STS', async (_name, build, description) => {
    expect(await wireOf(await build())).toEqual(refusal(description));
    expect(sent).toHaveLength(0);
  });

  it.each([
    ['SignatureDoesNotMatch', 403],
    ['ExpiredToken', 400],
    ['InvalidClientTokenId', 403],
  ])('answers STS refusing the request (%s) with 401 naming the code', async (code, status) => {
    answer = () => new Response(errorAnswer(code), { status });

    expect(await wireOf(await token())).toEqual({
      status: 401,
      body: { error: 'invalid_grant', error_description: `AWS STS refused the signed request (${code}).` },
      retryAfter: undefined,
    });
  });

  it.each([
    [
      'throttling',
      () => new Response(errorAnswer('Throttling'), { status: 400, headers: { 'retry-after': '7' } }),
      'AWS STS is throttling identity checks; retry later.',
      '7',
    ],
    ['a 500', () => new Response('oops', { status: 500 }), 'AWS STS is unavailable; retry later.', '5'],
    [
      'a redirect',
      () => new Response(null, { status: 302, headers: { location: 'https://127.0.0.1:9/' } }),
      'AWS STS answered with a redirect, which the broker does not follow; retry later.',
      '5',
    ],
    [
      'a network failure',
      () => Promise.reject(new TypeError('fetch failed')),
      'AWS STS could not be reached to check the signed request; retry later.',
      '5',
    ],
    [
      'an answer without identity',
      () => new Response('<GetCallerIdentityResponse/>'),
      'AWS STS answered without an Arn, UserId and Account; retry later.',
      '5',
    ],
    [
      'an oversized answer',
      () => new Response('x'.repeat(20_000)),
      'AWS STS answered with a body too large to be an identity; retry later.',
      '5',
    ],
    [
      'an answer that breaks off',
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('<GetCallerIdentityResponse>'));
              controller.error(new TypeError('terminated'));
            },
          }),
        ),
      'AWS STS broke off its answer to the signed request; retry later.',
      '5',
    ],
  ])('answers %s with a retryable 503, following nothing', async (_name, make, description, retryAfter) => {
    answer = make as () => Response;

    expect(await wireOf(await token())).toEqual({
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: description },
      retryAfter,
    });
    expect(sent).toHaveLength(1);
  });

  it('reads an answer that never ends only to 16 KiB, and answers a retryable 503', async () => {
    const endless = endlessAnswer();
    answer = () => endless.response;

    expect(await wireOf(await token())).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'AWS STS answered with a body too large to be an identity; retry later.',
      },
      retryAfter: '5',
    });
    expect(endless.cancelled).toBe(true);
    expect(endless.bytesRead).toBeLessThanOrEqual(16_384 + 2 * 4096);
  });

  it.each([
    [403, {}],
    [429, { 'retry-after': '30' }],
    [503, { 'retry-after': '7' }],
  ])(
    'answers HTTP %i whose body breaks off as it answers that status with no body',
    async (status, headers) => {
      answer = () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('<ErrorResponse><Error><Code>'));
              controller.error(new TypeError('terminated'));
            },
          }),
          { status, headers },
        );
      const cut = await wireOf(await token());
      answer = () => new Response('', { status, headers });

      expect(cut).toEqual(await wireOf(await token()));
      expect(cut.status).toBe(status === 403 ? 401 : 503);
    },
  );

  it.each([
    ['a federated user', 'arn:aws:sts::111122223333:federated-user/bob', '111122223333'],
    ['the account root', 'arn:aws:iam::111122223333:root', '111122223333'],
    [
      'an ARN of another account than Account',
      'arn:aws:sts::999988887777:assumed-role/app/s',
      '111122223333',
    ],
  ])('refuses %s', async (_name, arn, account) => {
    answer = () =>
      new Response(
        `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AIDAEXAMPLEUSER00001</UserId><Account>${account}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`,
      );

    expect((await wireOf(await token())).body).toEqual({
      error: 'invalid_grant',
      error_description:
        'AWS STS names a principal that is not an IAM role session or an IAM user; only those are accepted.',
    });
  });

  it('checks at most maxInFlight signed requests with STS at once, and refuses more at once, retryably', async () => {
    const held: Array<() => void> = [];
    answer = () =>
      new Promise<Response>((resolve) => {
        held.push(() => resolve(new Response(ROLE_ANSWER, { status: 200 })));
      });
    const limited = createAwsIamVerifier({
      audience: AUDIENCE,
      stsEndpoints: [STS],
      timeoutMs: 5000,
      maxTokenBytes: 8192,
      clockSkewSeconds: 60,
      clock: { now: () => NOW },
      fetch: fakeFetch,
      maxInFlight: 3,
    });
    const subjectToken = await token();
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => 'verified',
        (e: unknown) => toWireError(e),
      );

    const first = Array.from({ length: 5 }, () => settle(limited.verify(subjectToken)));
    const refused = await Promise.race([
      Promise.all([first[3], first[4]]),
      new Promise((r) => setTimeout(r, 500)),
    ]);
    const sentWhileFull = sent.length;
    for (const release of held.splice(0)) release();
    const verified = await Promise.all(first.slice(0, 3));
    answer = () => new Response(ROLE_ANSWER, { status: 200 });
    const afterwards = await settle(limited.verify(subjectToken));

    expect(sentWhileFull).toBe(3);
    expect(refused).toEqual([
      expect.objectContaining({
        status: 503,
        body: {
          error: 'temporarily_unavailable',
          error_description: 'AWS STS is checking 3 signed requests already; retry later.',
        },
        headers: expect.objectContaining({ 'Retry-After': '1' }),
      }),
      expect.objectContaining({ status: 503 }),
    ]);
    expect(verified).toEqual(['verified', 'verified', 'verified']);
    expect(afterwards).toBe('verified');
  });
});
