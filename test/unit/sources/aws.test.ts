// The AWS token sources over the real SDKs against the STS and Cognito stand-ins (issue 8): the
// broker's own assertion from sts:GetWebIdentityToken and from both Cognito flows, fetched once while
// fresh, and failures that name the fix but no URL, key or token.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CognitoStandIn, startCognitoStandIn } from '../../../sandbox/aws/cognito.js';
import { AwsDirectory, type AwsPrincipalSeed } from '../../../sandbox/aws/model.js';
import { type StsStandIn, startStsStandIn } from '../../../sandbox/aws/sts.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';
import { createAwsWebIdentitySource } from '../../../shared/sources/awsWebIdentity.js';
import { createCognitoSource } from '../../../shared/sources/cognito.js';
import { SourceError } from '../../../shared/sources/tokenSource.js';
import { errorText } from '../../helpers/errorText.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const DISABLED_ACCOUNT = '444455556666';
const POOL = 'eu-west-1:0d3c2b1a-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const BROKER_IDENTITY = 'eu-west-1:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d';
const GUEST_POOL = 'eu-west-1:1d3c2b1a-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const GUEST_IDENTITY = 'eu-west-1:8a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d';
const role = (account: string, key: string): AwsPrincipalSeed => ({
  kind: 'role',
  account,
  name: 'token-broker',
  uniqueId: `AROA${key}000000000000`,
  sessionName: 'fn',
  accessKeyId: `ASIA${key}00000000000000`,
  secretAccessKey: `secret-${key}-0000000000000000000000000000`,
  sessionToken: `session-${key}`,
});
const BROKER = role(ACCOUNT, 'BROKER');
const ELSEWHERE = role(DISABLED_ACCOUNT, 'ELSEWH');
/** A session that ends in 10 minutes: a 15-minute token would outlive it. */
const SHORT = { ...role(ACCOUNT, 'SHORTS'), sessionExpiresAt: Math.floor(Date.now() / 1000) + 600 };
const clock = { now: () => Date.now() };

let sts: StsStandIn;
let cognito: CognitoStandIn;

const useCredentials = (principal: AwsPrincipalSeed) =>
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: principal.accessKeyId,
    AWS_SECRET_ACCESS_KEY: principal.secretAccessKey,
    AWS_SESSION_TOKEN: principal.sessionToken,
  });

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  const tls = await ca.issue(['localhost', '127.0.0.1']);
  const directory = new AwsDirectory({
    partition: 'aws',
    region: REGION,
    accounts: [{ id: ACCOUNT, outboundWebIdentityFederation: true }, { id: DISABLED_ACCOUNT }],
    principals: [BROKER, ELSEWHERE, SHORT],
  });
  sts = await startStsStandIn({ tls, directory, region: REGION });
  cognito = await startCognitoStandIn({
    tls,
    region: REGION,
    directory,
    pools: [
      {
        id: POOL,
        account: ACCOUNT,
        developerProviderName: 'broker.test',
        identities: [{ id: BROKER_IDENTITY, developerUserId: 'broker' }],
      },
      {
        id: GUEST_POOL,
        account: ACCOUNT,
        allowUnauthenticatedIdentities: true,
        identities: [{ id: GUEST_IDENTITY }],
      },
    ],
    tokenHeader: { typ: 'JWT', alg: 'RS256' },
  });
  // The SDK reads these itself, as the broker's deployment sets them.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ENDPOINT_URL_COGNITO_IDENTITY: cognito.url,
  });
});
afterAll(async () => {
  await sts?.close();
  await cognito?.close();
});

/** The broker's web identity source and its Cognito developer-flow source, as the broker builds them. */
const webIdentitySource = () =>
  createAwsWebIdentitySource({
    audience: 'api://AzureADTokenExchange',
    region: REGION,
    durationSeconds: 900,
    timeoutMs: 5000,
    clock,
  });
const developerSource = () =>
  createCognitoSource({
    region: REGION,
    flow: {
      kind: 'developer',
      identityPoolId: POOL,
      providerName: 'broker.test',
      userId: 'broker',
      tokenDurationSeconds: 900,
    },
    timeoutMs: 5000,
    clock,
  });

describe('webIdentity source', () => {
  it("returns the broker role's web identity token for Entra, fetched once while fresh", async () => {
    useCredentials(BROKER);
    sts.resetCounters();
    const webIdentity = webIdentitySource();

    const first = await webIdentity.getAssertion();
    const second = await webIdentity.getAssertion();

    expect(second).toBe(first);
    expect(sts.counters()).toEqual({ GetWebIdentityToken: 1 });
    expect(first).toMatchObject({
      issuer: sts.webIdentityIssuers.get(ACCOUNT)?.issuer,
      subject: `arn:aws:iam::${ACCOUNT}:role/token-broker`,
    });
    const claims = decodeJwt(first.token);
    expect(claims).toMatchObject({ aud: 'api://AzureADTokenExchange' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(first.expiresAtMs).toBe((claims.exp as number) * 1000);
  });

  it('names the fix when the account has not enabled outbound federation, and no key or URL', async () => {
    useCredentials(ELSEWHERE);

    const error = await webIdentitySource()
      .getAssertion()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).reason).toBe(
      "STS refused: outbound web identity federation is disabled in the broker's AWS account; enable it once with iam:EnableOutboundWebIdentityFederation",
    );
    expect((error as SourceError).message).not.toMatch(/ASIA|secret|127\.0\.0\.1/);
  });
});

describe('webIdentity source and the broker session', () => {
  it("names the setting to lower when the token would outlive the broker's AWS session", async () => {
    useCredentials(SHORT);
    const source = createAwsWebIdentitySource({
      audience: 'api://AzureADTokenExchange',
      region: REGION,
      durationSeconds: 900,
      timeoutMs: 5000,
      clock,
    });

    const error = await source.getAssertion().catch((e: unknown) => e);

    expect((error as SourceError).reason).toBe(
      "STS refused: the token would outlive the broker's AWS session; lower AWS_WEB_IDENTITY_DURATION_SECONDS",
    );
  });
});

describe('cognito source', () => {
  it('developer flow: the broker identity pinned for its developer user, signed with its IAM keys', async () => {
    useCredentials(BROKER);
    const developer = developerSource();

    const assertion = await developer.getAssertion();

    expect(assertion).toMatchObject({
      issuer: 'https://cognito-identity.amazonaws.com',
      subject: BROKER_IDENTITY,
    });
    expect(decodeJwt(assertion.token)).toMatchObject({
      aud: POOL,
      amr: ['authenticated', 'broker.test', `broker.test:${POOL}:broker`],
    });
  });

  it('basic flow: the configured identity, unsigned (a guest: anyone knowing its id could ask the same)', async () => {
    const basic = createCognitoSource({
      region: REGION,
      flow: { kind: 'basic', identityId: GUEST_IDENTITY },
      timeoutMs: 5000,
      clock,
    });

    const assertion = await basic.getAssertion();

    expect(assertion.subject).toBe(GUEST_IDENTITY);
    expect(decodeJwt(assertion.token)).toMatchObject({ aud: GUEST_POOL, amr: ['unauthenticated'] });
  });

  it("reports Cognito throttling by the exception's name, retryable", async () => {
    useCredentials(BROKER);
    await fetch(`${cognito.url}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 400, type: 'TooManyRequestsException', message: 'Rate exceeded' }),
    });
    const developer = developerSource();

    const error = await developer.getAssertion().catch((e: unknown) => e);
    await fetch(`${cognito.url}/admin/faults`, { method: 'DELETE' });

    expect((error as SourceError).reason).toBe('Cognito answered TooManyRequestsException (HTTP 400)');
  });
});

describe('AWS sources facing a peer that quotes secrets', () => {
  /** Runs `call` with the SDK's endpoint variable pointing at a plain HTTP server answering with `answer`. */
  async function against(variable: string, answer: RequestListener, call: () => Promise<unknown>) {
    const server = createServer(answer);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = process.env[variable];
    process.env[variable] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      return await call().catch((e: unknown) => e);
    } finally {
      if (saved === undefined) delete process.env[variable];
      else process.env[variable] = saved;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
  const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJ3ZWItaWRlbnRpdHkifQ.c2lnbmF0dXJlLWNhbmFyeQ';

  it('keeps none of an STS answer it could not parse, though it holds the token', async () => {
    useCredentials(BROKER);
    const error = await against(
      'AWS_ENDPOINT_URL_STS',
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/xml' });
        // A token inside XML the SDK cannot parse: it keeps the whole body on its error.
        response.end(
          `<GetWebIdentityTokenResponse><GetWebIdentityTokenResult><WebIdentityToken>${TOKEN}</WebIdentityToken><<`,
        );
      },
      () => webIdentitySource().getAssertion(),
    );

    expect(error).toBeInstanceOf(SourceError);
    expect(errorText(error)).not.toContain(TOKEN.split('.')[1]);
    expect(errorText(error)).not.toContain('c2lnbmF0dXJlLWNhbmFyeQ');
  });

  it("keeps none of Cognito's refusal message, which may quote what was signed", async () => {
    useCredentials(BROKER);
    const error = await against(
      'AWS_ENDPOINT_URL_COGNITO_IDENTITY',
      (_request, response) => {
        response.writeHead(400, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': 'InvalidSignatureException',
          'x-amzn-requestid': '7f2c1a9e-0b3d-4e5f-8a6b-1c2d3e4f5a6b',
        });
        response.end(
          JSON.stringify({
            __type: 'InvalidSignatureException',
            message: `The canonical string should have been x-amz-security-token:${BROKER.sessionToken}-canary`,
          }),
        );
      },
      () => developerSource().getAssertion(),
    );

    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).reason).toBe('Cognito answered InvalidSignatureException (HTTP 400)');
    expect((error as SourceError).cause).toEqual({
      name: 'InvalidSignatureException',
      statusCode: 400,
      requestId: '7f2c1a9e-0b3d-4e5f-8a6b-1c2d3e4f5a6b',
    });
    expect(errorText(error)).not.toContain('canary');
  });

  /** Answers 200 and then bytes without end, noting when the client hangs up. */
  const endless = () => {
    const seen = { closed: false };
    const answer: RequestListener = (request, response) => {
      request.socket.on('close', () => {
        seen.closed = true;
      });
      response.writeHead(200, { 'content-type': 'text/xml' });
      const chunk = Buffer.alloc(16_384, 'a');
      const pump = () => {
        while (!response.destroyed) if (!response.write(chunk)) return void response.once('drain', pump);
      };
      pump();
    };
    return { seen, answer };
  };

  it('stops reading an STS answer at 64 KiB, and fails at once with a clear reason', async () => {
    useCredentials(BROKER);
    const { seen, answer } = endless();
    const started = performance.now();
    let hungUpByClient = false;
    const error = await against('AWS_ENDPOINT_URL_STS', answer, async () => {
      const failure = await webIdentitySource()
        .getAssertion()
        .catch((e: unknown) => e);
      // Before the server is closed around it: the client hangs up by itself.
      for (const until = Date.now() + 1000; !seen.closed && Date.now() < until; )
        await new Promise((resolve) => setTimeout(resolve, 20));
      hungUpByClient = seen.closed;
      throw failure;
    });

    expect(hungUpByClient).toBe(true);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).reason).toBe(
      'STS answered more than 65536 bytes, which is not a token answer',
    );
    // Not read until the 5 s deadline: the connection was given up at the cap.
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('refuses a Cognito answer that declares more than 64 KiB, error answers included, without reading it', async () => {
    useCredentials(BROKER);
    const error = await against(
      'AWS_ENDPOINT_URL_COGNITO_IDENTITY',
      (_request, response) => {
        response.writeHead(400, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': 'InvalidSignatureException',
          'content-length': String(10 * 2 ** 20),
        });
        response.write('{"__type":"InvalidSignatureException","message":"');
      },
      () => developerSource().getAssertion(),
    );

    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).reason).toBe(
      'Cognito answered more than 65536 bytes, which is not a token answer',
    );
  });
});
