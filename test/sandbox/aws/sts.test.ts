// The STS stand-in through @aws-sdk/client-sts and raw signed requests: GetCallerIdentity, STS's auth and
// protocol errors byte for byte, the query-string form the broker forwards, faults and counters.
import { createHash, createHmac } from 'node:crypto';
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsDirectory, type AwsPrincipalSeed } from '../../../sandbox/aws/model.js';
import { type StsStandIn, startStsStandIn } from '../../../sandbox/aws/sts.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const USER: AwsPrincipalSeed = {
  kind: 'user',
  account: ACCOUNT,
  name: 'alice',
  path: '/engineering/',
  uniqueId: 'AIDAEXAMPLEALICE00001',
  accessKeyId: 'AKIAEXAMPLEALICE0001',
  secretAccessKey: 'alice-secret-key-00000000000000000000000',
};
const ROLE: AwsPrincipalSeed = {
  kind: 'role',
  account: ACCOUNT,
  name: 'deployer',
  uniqueId: 'AROAEXAMPLEDEPLOYER01',
  sessionName: 'ci-run-42',
  accessKeyId: 'ASIAEXAMPLEDEPLOYER1',
  secretAccessKey: 'deployer-secret-key-00000000000000000000',
  sessionToken: 'deployer-session-token',
};
const EXPIRED: AwsPrincipalSeed = {
  ...ROLE,
  sessionName: 'stale',
  accessKeyId: 'ASIAEXAMPLESTALE0001',
  sessionToken: 'stale-session-token',
  sessionExpiresAt: Math.floor(Date.now() / 1000) - 60,
};
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

let sts: StsStandIn;
/** How far the stand-in's clock runs ahead of this machine's, in milliseconds. */
let skewMs = 0;

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  sts = await startStsStandIn({
    tls: await ca.issue(['localhost', '127.0.0.1']),
    region: REGION,
    clock: { now: () => Date.now() + skewMs },
    directory: new AwsDirectory({
      partition: 'aws',
      region: REGION,
      accounts: [{ id: ACCOUNT }],
      principals: [USER, ROLE, EXPIRED],
    }),
  });
});
afterAll(() => sts.close());
beforeEach(() => {
  skewMs = 0;
  sts.setFault(undefined);
  sts.resetCounters();
});

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const client = (credentials: Credentials, extra: Partial<STSClientConfig> = {}) =>
  new STSClient({ endpoint: sts.url, region: REGION, credentials, ...extra });
const callerIdentity = (credentials: Credentials, extra: Partial<STSClientConfig> = {}) =>
  client(credentials, extra).send(new GetCallerIdentityCommand({}));
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail('expected a refusal'),
    (e) => e,
  );

/** SHA-256 and HMAC over node:crypto, the checksum shape @smithy/signature-v4 takes. */
const bytes = (data: SourceData): string | Buffer =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);
class Sha256 {
  #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData) {
    this.#hash.update(bytes(data));
  }
  async digest() {
    return new Uint8Array(this.#hash.digest());
  }
  reset() {}
}

/** Signs a raw request as a broker forwarding a caller's presigned GetCallerIdentity would send it. */
async function signedFetch(
  credentials: Credentials,
  request: {
    method?: string;
    query?: Record<string, string>;
    body?: string;
    headers?: Record<string, string>;
  },
) {
  const url = new URL(sts.url);
  const signer = new SignatureV4({ credentials, region: REGION, service: 'sts', sha256: Sha256 });
  const signed = await signer.sign({
    method: request.method ?? 'POST',
    protocol: 'https:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: request.query ?? {},
    headers: { host: url.host, ...request.headers },
    body: request.body ?? '',
  });
  const search = new URLSearchParams(request.query ?? {}).toString();
  const response = await fetch(`${sts.url}/${search ? `?${search}` : ''}`, {
    method: signed.method,
    headers: signed.headers as Record<string, string>,
    body: signed.method === 'GET' ? undefined : (request.body ?? ''),
    redirect: 'manual',
  });
  return { response, text: await response.text() };
}

const errorBody = (code: string, message: string, requestId: string, namespace = XMLNS) =>
  `<ErrorResponse xmlns="${namespace}">\n  <Error>\n    <Type>Sender</Type>\n    <Code>${code}</Code>\n` +
  `    <Message>${message}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`;

describe('STS stand-in: GetCallerIdentity through the SDK', () => {
  it('names an IAM user: its ARN with the path, its AIDA id, its account', async () => {
    const identity = await callerIdentity(USER);

    expect(identity).toMatchObject({
      Arn: 'arn:aws:iam::111122223333:user/engineering/alice',
      UserId: 'AIDAEXAMPLEALICE00001',
      Account: ACCOUNT,
      $metadata: { httpStatusCode: 200, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
  });

  it('names an assumed-role session: the assumed-role ARN and AROA…:<session>', async () => {
    const identity = await callerIdentity(ROLE);

    expect(identity).toMatchObject({
      Arn: 'arn:aws:sts::111122223333:assumed-role/deployer/ci-run-42',
      UserId: 'AROAEXAMPLEDEPLOYER01:ci-run-42',
      Account: ACCOUNT,
    });
  });

  it.each([
    ['a wrong secret', { ...ROLE, secretAccessKey: 'wrong' }, 'SignatureDoesNotMatch', MISMATCH],
    [
      'an unknown key',
      { ...USER, accessKeyId: 'AKIAUNKNOWN000000000' },
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    ],
    [
      'a session key without its session token',
      { accessKeyId: ROLE.accessKeyId, secretAccessKey: ROLE.secretAccessKey },
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    ],
    ['an expired session', EXPIRED, 'ExpiredToken', 'The security token included in the request is expired'],
  ])('refuses %s with 403 and STS’s code', async (_case, credentials, code, message) => {
    const error = await failure(callerIdentity(credentials as Credentials));

    expect(error).toMatchObject({ name: code, message, $metadata: { httpStatusCode: 403 } });
  });

  it('refuses a credential scoped to another region with SignatureDoesNotMatch', async () => {
    const error = await failure(
      new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials: USER }).send(
        new GetCallerIdentityCommand({}),
      ),
    );

    expect(error).toMatchObject({
      name: 'SignatureDoesNotMatch',
      message: 'Credential should be scoped to a valid region.',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('keeps STS’s 15-minute window: a signature 16 minutes old is expired, one 6 minutes old is not', async () => {
    const late = await failure(callerIdentity(USER, { systemClockOffset: -16 * 60_000 }));
    const recent = await callerIdentity(USER, { systemClockOffset: -6 * 60_000 });

    expect(late).toMatchObject({
      name: 'SignatureDoesNotMatch',
      message: expect.stringMatching(
        /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
      ),
      $metadata: { httpStatusCode: 403 },
    });
    expect(recent.Account).toBe(ACCOUNT);
  });

  it('sends its own time in Date, so an SDK on a slow machine corrects its clock and succeeds on retry', async () => {
    skewMs = 16 * 60_000;

    const identity = await callerIdentity(USER);

    expect(identity.Arn).toBe('arn:aws:iam::111122223333:user/engineering/alice');
    expect(sts.counters()).toEqual({ GetCallerIdentity: 2 });
  });
});

describe('STS stand-in: the raw query protocol', () => {
  it('answers a POST with Action in the query string and an empty body, byte for byte as STS', async () => {
    const { response, text } = await signedFetch(ROLE, {
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    });
    const requestId = response.headers.get('x-amzn-requestid');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/xml');
    expect(response.headers.get('x-amz-sts-extended-request-id')).toBeTruthy();
    expect(text).toBe(
      `<GetCallerIdentityResponse xmlns="${XMLNS}">\n  <GetCallerIdentityResult>\n` +
        '    <Arn>arn:aws:sts::111122223333:assumed-role/deployer/ci-run-42</Arn>\n' +
        '    <UserId>AROAEXAMPLEDEPLOYER01:ci-run-42</UserId>\n    <Account>111122223333</Account>\n' +
        `  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n` +
        '  </ResponseMetadata>\n</GetCallerIdentityResponse>\n',
    );
  });

  it('answers a signed GET, and keeps the first of repeated parameters', async () => {
    const get = await signedFetch(USER, {
      method: 'GET',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    });
    const repeated = await signedFetch(USER, {
      body: 'Action=GetCallerIdentity&Action=NoSuchAction&Version=2011-06-15&Version=2000-01-01',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    });

    expect(get.response.status).toBe(200);
    expect(get.text).toContain('<Arn>arn:aws:iam::111122223333:user/engineering/alice</Arn>');
    expect(repeated.response.status).toBe(200);
  });

  it.each([
    ['an unknown Action', 'Action=NoSuchAction&Version=2011-06-15', 'NoSuchAction for version 2011-06-15'],
    ['no Version', 'Action=GetCallerIdentity', 'GetCallerIdentity for version NO_VERSION_SPECIFIED'],
    [
      'another Version',
      'Action=GetCallerIdentity&Version=2000-01-01',
      'GetCallerIdentity for version 2000-01-01',
    ],
  ])('answers %s with 400 InvalidAction in the AWSFault namespace', async (_case, body, operation) => {
    const { response, text } = await signedFetch(USER, {
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const requestId = response.headers.get('x-amzn-requestid') ?? '';

    expect(response.status).toBe(400);
    expect(text).toBe(
      errorBody(
        'InvalidAction',
        `Could not find operation ${operation}`,
        requestId,
        'http://webservices.amazon.com/AWSFault/2005-15-09',
      ),
    );
  });

  it('redirects a request without Action to aws.amazon.com/iam, and ignores a body not form-encoded', async () => {
    const noAction = await signedFetch(USER, {
      body: 'Version=2011-06-15',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const getNoAction = await signedFetch(USER, { method: 'GET', query: { Version: '2011-06-15' } });
    const noContentType = await signedFetch(USER, { body: 'Action=GetCallerIdentity&Version=2011-06-15' });

    expect([noAction.response.status, noAction.response.headers.get('location'), noAction.text]).toEqual([
      302,
      'https://aws.amazon.com/iam',
      '',
    ]);
    expect(getNoAction.response.headers.get('location')).toBe(
      'https://aws.amazon.com/iam?Version=2011-06-15',
    );
    expect(noContentType.response.status).toBe(302);
    expect(sts.counters()).toEqual({ '(none)': 3 });
  });

  it('answers an unsigned request 403 MissingAuthenticationToken and a malformed one 400 IncompleteSignature', async () => {
    const body = 'Action=GetCallerIdentity&Version=2011-06-15';
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const unsigned = await fetch(`${sts.url}/`, { method: 'POST', headers, body });
    const malformed = await fetch(`${sts.url}/`, {
      method: 'POST',
      headers: { ...headers, authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEALICE0001' },
      body,
    });
    const unsignedText = await unsigned.text();

    expect(unsigned.status).toBe(403);
    expect(unsignedText).toBe(
      errorBody(
        'MissingAuthenticationToken',
        'Request is missing Authentication Token',
        unsigned.headers.get('x-amzn-requestid') ?? '',
      ),
    );
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain('<Code>IncompleteSignature</Code>');
  });
});

describe('STS stand-in: sandbox-only faults and counters', () => {
  const admin = (path: string, init?: RequestInit) => fetch(`${sts.url}/admin${path}`, init);
  const postFault = (fault: unknown) =>
    admin('/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fault),
    });

  it('answers a redirect fault with the redirect itself, never following it', async () => {
    const set = await postFault({ status: 302, redirectTo: 'https://elsewhere.example/sts' });
    const { response, text } = await signedFetch(USER, {
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    });

    expect(set.status).toBe(200);
    expect([response.status, response.headers.get('location'), text]).toEqual([
      302,
      'https://elsewhere.example/sts',
      '',
    ]);
  });

  it('makes a Throttling error reach the SDK as Throttling, with the status and Retry-After', async () => {
    await postFault({ code: 'Throttling', message: 'Rate exceeded', retryAfterSeconds: 7 });

    const error = await failure(callerIdentity(USER, { maxAttempts: 1 }));
    const raw = await signedFetch(USER, { query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } });

    expect(error).toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    expect(raw.response.headers.get('retry-after')).toBe('7');
    expect(raw.text).toContain('<Code>Throttling</Code>');
  });

  it('clears a counted fault after it, so the SDK’s retry succeeds; the counters prove both calls', async () => {
    await postFault({ status: 503, count: 1, action: 'GetCallerIdentity' });

    const identity = await callerIdentity(USER);
    const counters = await (await admin('/counters')).json();

    expect(identity.Account).toBe(ACCOUNT);
    expect(counters).toEqual({ counters: { GetCallerIdentity: 2 } });
    expect(await (await admin('/faults')).json()).toEqual({ fault: null });
  });

  it('answers a 503 fault as ServiceUnavailable (Receiver), and adds latency', async () => {
    await postFault({ status: 503, latencyMs: 200 });

    const started = Date.now();
    const { response, text } = await signedFetch(USER, {
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    });

    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(response.status).toBe(503);
    expect(text).toContain('<Type>Receiver</Type>\n    <Code>ServiceUnavailable</Code>');
  });

  it('clears faults with DELETE, resets counters, and refuses a malformed fault with 400', async () => {
    await postFault({ code: 'Throttling' });
    const deleted = await admin('/faults', { method: 'DELETE' });
    const identity = await callerIdentity(USER);
    const reset = await admin('/counters/reset', { method: 'POST' });
    const unknownField = await postFault({ code: 'Throttling', ttl: 3 });
    const noCode = await postFault({ status: 418 });

    expect(deleted.status).toBe(204);
    expect(identity.Account).toBe(ACCOUNT);
    expect(reset.status).toBe(204);
    expect(sts.counters()).toEqual({});
    expect([unknownField.status, await unknownField.json()]).toEqual([400, { error: 'unknown field ttl' }]);
    expect(noCode.status).toBe(400);
  });
});
