// The aws-iam caller path against hostile signed requests (issue 8), over the sandbox's sockets with
// the STS stand-in verifying signatures for real: forged serialisations, endpoints and queries, broken
// bindings, bad signatures. A tripwire proves no request reaches anything but the allow-listed STS.
import { beforeAll, describe, expect, it } from 'vitest';
import { createAwsSubjectToken } from '../../shared/client/awsSubjectToken.js';
import { type HostileSandbox, isContractError, type Tripwire, useSandboxAndTripwire } from './kit.js';

const running = useSandboxAndTripwire();
let sandbox: HostileSandbox;
let tripwire: Tripwire;
const secrets = new Set<string>();

beforeAll(async () => {
  ({ sandbox, tripwire } = running);
  const { callerRole } = sandbox.endpoints.aws;
  secrets.add(callerRole.secretAccessKey).add(callerRole.sessionToken);
});

type Serialised = { url: string; method: string; headers: Array<{ key: string; value: string }> };

/** The demo caller's signed request; `options` change what is signed. */
async function signed(options: Partial<Parameters<typeof createAwsSubjectToken>[0]> = {}): Promise<string> {
  const { aws, broker } = sandbox.endpoints;
  const token = await createAwsSubjectToken({
    brokerAudience: broker.audience,
    region: aws.region,
    stsEndpoint: aws.stsEndpoint,
    credentials: aws.callerRole,
    ...options,
  });
  secrets.add(token);
  return token;
}

/** The signed request, decoded, changed after signing, and encoded again. */
async function forged(change: (request: Serialised) => unknown): Promise<string> {
  const request = JSON.parse(decodeURIComponent(await signed())) as Serialised;
  const replaced = change(request);
  return encodeURIComponent(JSON.stringify(replaced ?? request));
}

const header = (request: Serialised, name: string) =>
  request.headers.find((h) => h.key.toLowerCase() === name) as { key: string; value: string };

const exchange = (subjectToken: string) =>
  sandbox.exchange({
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    audience: sandbox.endpoints.demo.target,
    scope: sandbox.endpoints.demo.scope,
  });

/** The STS stand-in's count of requests per action since the last reset. */
async function stsCalls(): Promise<Record<string, number>> {
  const response = await fetch(`${sandbox.endpoints.aws.stsEndpoint}/admin/counters`);
  return ((await response.json()) as { counters: Record<string, number> }).counters;
}
const resetStsCalls = () =>
  fetch(`${sandbox.endpoints.aws.stsEndpoint}/admin/counters/reset`, { method: 'POST' });

const SHAPE = 'it must be exactly {url, method: POST, headers: [{key, value}]} with printable header values';
const QUERY = 'its url must be the endpoint with exactly ?Action=GetCallerIdentity&Version=2011-06-15';

describe('the aws-iam path against hostile signed requests', () => {
  it('grants the demo caller (the control every refusal is measured against)', async () => {
    expect((await exchange(await signed())).status).toBe(200);
  });

  it.each<[string, () => Promise<string>, string]>([
    ['a blank token', async () => '%20', 'it is not URL-encoded JSON'],
    [
      'a token over the size cap',
      async () => encodeURIComponent(JSON.stringify({ url: 'x'.repeat(9000) })),
      'it is larger than 8192 bytes',
    ],
    ['raw JSON with a stray percent sign', async () => '{"url":"%zz"}', 'it is not URL-encoded JSON'],
    [
      'a JWT sent as a signed request',
      async () => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
      'it is not URL-encoded JSON',
    ],
    ['a JSON array', () => forged((r) => [r]), SHAPE],
    [
      'headers as an object',
      () => forged((r) => ({ ...r, headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value])) })),
      SHAPE,
    ],
    ['a body member', () => forged((r) => ({ ...r, body: 'Action=AssumeRole' })), SHAPE],
    ['method GET', () => forged((r) => ({ ...r, method: 'GET' })), SHAPE],
    ['method post in lower case', () => forged((r) => ({ ...r, method: 'post' })), SHAPE],
    [
      '17 headers',
      () =>
        forged((r) => ({
          ...r,
          headers: [
            ...r.headers,
            ...Array.from({ length: 17 - r.headers.length }, () => ({ key: 'content-type', value: 'x' })),
          ],
        })),
      SHAPE,
    ],
    [
      'CRLF in a header value',
      () =>
        forged((r) => {
          header(r, 'x-amz-date').value += '\r\nX-Injected: 1';
        }),
      SHAPE,
    ],
    [
      'a space in a header name',
      () =>
        forged((r) => {
          r.headers.push({ key: 'x amz', value: '1' });
        }),
      SHAPE,
    ],
    [
      'a repeated member name',
      async () => encodeURIComponent(`{"url":"a","url":"b","method":"POST","headers":[]}`),
      'its JSON repeats a member name',
    ],
    [
      'Transfer-Encoding',
      () =>
        forged((r) => {
          r.headers.push({ key: 'Transfer-Encoding', value: 'chunked' });
        }),
      'it carries a header this broker does not forward',
    ],
    [
      'X-Forwarded-Host',
      () =>
        forged((r) => {
          r.headers.push({ key: 'X-Forwarded-Host', value: 'evil' });
        }),
      'it carries a header this broker does not forward',
    ],
    [
      'a header repeated in another case',
      () =>
        forged((r) => {
          r.headers.push({ key: 'X-Amz-Date', value: header(r, 'x-amz-date').value });
        }),
      'it repeats the header x-amz-date',
    ],
    [
      'a Host other than the URL',
      () =>
        forged((r) => {
          header(r, 'host').value = 'sts.amazonaws.com';
        }),
      "its host header must be its url's host",
    ],
    [
      'the tripwire as endpoint',
      () => signed({ stsEndpoint: tripwire.httpsUrl }),
      'its url is not an STS endpoint this broker uses',
    ],
    [
      'the allow-listed host on another port',
      () =>
        forged((r) => {
          r.url = r.url.replace(/:\d+\//, `:${new URL(tripwire.url).port}/`);
        }),
      'its url is not an STS endpoint this broker uses',
    ],
    [
      'credentials in the URL',
      () =>
        forged((r) => {
          r.url = r.url.replace('https://', 'https://user:pw@');
        }),
      'its url must be https, without credentials or fragment',
    ],
    [
      'a fragment',
      () =>
        forged((r) => {
          r.url += '#x';
        }),
      'its url must be https, without credentials or fragment',
    ],
    [
      'http',
      () =>
        forged((r) => {
          r.url = r.url.replace('https:', 'http:');
        }),
      'its url must be https, without credentials or fragment',
    ],
    [
      'not a URL',
      () =>
        forged((r) => {
          r.url = 'sts';
        }),
      'its url is not a URL',
    ],
    [
      'another path',
      () =>
        forged((r) => {
          r.url = r.url.replace('/?', '/admin/faults?');
        }),
      QUERY,
    ],
    [
      'Action=AssumeRole',
      () =>
        forged((r) => {
          r.url = r.url.replace('GetCallerIdentity', 'AssumeRole');
        }),
      QUERY,
    ],
    [
      'an extra query parameter',
      () =>
        forged((r) => {
          r.url += '&RoleArn=arn:aws:iam::1:role/x';
        }),
      QUERY,
    ],
    [
      'parameters in another order',
      () =>
        forged((r) => {
          r.url = r.url.replace(
            'Action=GetCallerIdentity&Version=2011-06-15',
            'Version=2011-06-15&Action=GetCallerIdentity',
          );
        }),
      QUERY,
    ],
    [
      'an encoded ampersand',
      () =>
        forged((r) => {
          r.url = r.url.replace('&Version', '%26Version');
        }),
      QUERY,
    ],
    [
      'no binding header',
      () => forged((r) => ({ ...r, headers: r.headers.filter((h) => h.key !== 'x-broker-audience') })),
      'it is not bound to this broker (no x-broker-audience header)',
    ],
    [
      'a binding for another broker',
      () => signed({ brokerAudience: 'https://another-broker.example' }),
      'its x-broker-audience names another broker',
    ],
    [
      'a binding in another letter case',
      () => signed({ brokerAudience: sandbox.endpoints.broker.audience.toUpperCase() }),
      'its x-broker-audience names another broker',
    ],
    [
      'an unsigned binding',
      () =>
        forged((r) => {
          header(r, 'authorization').value = header(r, 'authorization').value.replace(
            ';x-broker-audience',
            '',
          );
        }),
      'its x-broker-audience header is not signed',
    ],
    [
      'a signature for another service',
      () =>
        forged((r) => {
          header(r, 'authorization').value = header(r, 'authorization').value.replace('/sts/', '/iam/');
        }),
      'its Authorization header is not an AWS Signature Version 4 for STS',
    ],
    [
      'no Authorization',
      () => forged((r) => ({ ...r, headers: r.headers.filter((h) => h.key !== 'authorization') })),
      'its Authorization header is not an AWS Signature Version 4 for STS',
    ],
    [
      'a signing date 10 minutes ahead',
      () => signed({ signingDate: new Date(Date.now() + 10 * 60_000) }),
      'it was signed outside the time window STS accepts',
    ],
    [
      'an X-Amz-Date unlike the credential scope',
      () =>
        forged((r) => {
          header(r, 'x-amz-date').value = '20200101T000000Z';
        }),
      'its X-Amz-Date is missing or malformed',
    ],
  ])('refuses %s before sending anything', async (_name, build, description) => {
    const token = await build();
    await resetStsCalls();

    const answer = await exchange(token);

    expect({ status: answer.status, body: answer.json }).toEqual({
      status: 401,
      body: {
        error: 'invalid_grant',
        error_description: `The signed AWS request was refused: ${description}.`,
      },
    });
    expect(isContractError(answer)).toBe(true);
    expect(await stsCalls()).toEqual({});
  });

  it.each<[string, () => Promise<string>, string]>([
    [
      'a wrong secret',
      () =>
        signed({
          credentials: {
            ...sandbox.endpoints.aws.callerRole,
            secretAccessKey: 'forged-secret-key-000000000000000000000',
          },
        }),
      'SignatureDoesNotMatch',
    ],
    [
      'a signature changed after signing',
      () =>
        forged((r) => {
          const a = header(r, 'authorization');
          a.value = a.value.replace(
            /Signature=([0-9a-f])/,
            (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
          );
        }),
      'SignatureDoesNotMatch',
    ],
    [
      'an X-Amz-Date changed after signing',
      () =>
        forged((r) => {
          header(r, 'x-broker-audience').value = sandbox.endpoints.broker.audience;
          header(r, 'x-amz-date').value = header(r, 'x-amz-date').value.replace(
            /\d{2}Z$/,
            (s) => `${String((Number(s.slice(0, 2)) + 1) % 60).padStart(2, '0')}Z`,
          );
        }),
      'SignatureDoesNotMatch',
    ],
    [
      'a key nobody holds',
      () =>
        signed({
          credentials: { accessKeyId: 'ASIAUNKNOWN000000000', secretAccessKey: 'x', sessionToken: 'y' },
        }),
      'InvalidClientTokenId',
    ],
    [
      'no session token for a session key',
      () =>
        signed({
          credentials: {
            accessKeyId: sandbox.endpoints.aws.callerRole.accessKeyId,
            secretAccessKey: sandbox.endpoints.aws.callerRole.secretAccessKey,
          },
        }),
      'InvalidClientTokenId',
    ],
  ])('answers STS refusing %s with 401 naming its code', async (_name, build, code) => {
    const answer = await exchange(await build());

    expect({ status: answer.status, body: answer.json }).toEqual({
      status: 401,
      body: { error: 'invalid_grant', error_description: `AWS STS refused the signed request (${code}).` },
    });
  });

  it('answers STS saying the session expired with 401 naming ExpiredToken', async () => {
    await fetch(`${sandbox.endpoints.aws.stsEndpoint}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        status: 403,
        code: 'ExpiredToken',
        message: 'The security token included in the request is expired',
        count: 1,
      }),
    });

    const answer = await exchange(await signed());

    expect({ status: answer.status, body: answer.json }).toEqual({
      status: 401,
      body: {
        error: 'invalid_grant',
        error_description: 'AWS STS refused the signed request (ExpiredToken).',
      },
    });
  });

  it('contacted nothing but the allow-listed STS', () => {
    expect(tripwire.connections()).toBe(0);
  });

  it('kept every signed request, signature and secret out of the logs', () => {
    const output = sandbox.output();

    expect(output).toContain('"caller":"aws-iam:');
    for (const secret of secrets) expect(output).not.toContain(secret);
    expect(output).not.toMatch(/Signature=[0-9a-f]{64}/);
    expect(output).not.toMatch(/AWS4-HMAC-SHA256/);
  });
});
