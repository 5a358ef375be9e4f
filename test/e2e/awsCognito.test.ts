// End to end with the broker on AWS, its assertion from the Cognito stand-in through
// @aws-sdk/client-cognito-identity (issue 8): an AWS caller proving itself with a SigV4-signed
// GetCallerIdentity and a GCP caller, both served; each bad AWS input with its exact answer.
import {
  CognitoIdentityClient,
  GetOpenIdTokenForDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { GoogleAuth } from 'google-auth-library';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTripwire, type Tripwire } from '../hostile/kit.js';
import { type AwsE2e, admin, awsSubjectToken, exchange, launchOnAws, leakedSecrets, stop } from './awsKit.js';

let e2e: AwsE2e;
let tripwire: Tripwire;

beforeAll(async () => {
  [e2e, tripwire] = await Promise.all([launchOnAws('cognito'), startTripwire()]);
});
afterAll(async () => {
  await stop(e2e);
  await tripwire?.close();
});

const refused = (description: string) => ({
  status: 401,
  body: { error: 'invalid_grant', error_description: `The signed AWS request was refused: ${description}.` },
});

describe('a broker on AWS, its assertion from Cognito', () => {
  it('pauses and answers 503 with Retry-After while Cognito throttles (asking it once) or refuses the login, then recovers', async () => {
    const { cognitoEndpoint } = e2e.endpoints.aws;
    await admin(cognitoEndpoint, 'POST', '/faults', {
      op: 'GetOpenIdTokenForDeveloperIdentity',
      status: 400,
      type: 'TooManyRequestsException',
      message: 'Rate exceeded',
    });

    const throttled = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });
    const paused = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });
    const calls = (await admin(cognitoEndpoint, 'GET', '/counters')) as Record<string, { requests: number }>;
    await admin(cognitoEndpoint, 'DELETE', '/faults');
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the first backoff after a failure is at most 1 s
    // Then Cognito refuses the broker's login outright: the same retryable answer, the reason in the log.
    await admin(cognitoEndpoint, 'POST', '/faults', {
      op: 'GetOpenIdTokenForDeveloperIdentity',
      status: 400,
      type: 'NotAuthorizedException',
      message: "Logins don't match.",
    });
    const refusedLogin = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });
    await admin(cognitoEndpoint, 'DELETE', '/faults');
    await new Promise((resolve) => setTimeout(resolve, 2100)); // the second backoff is at most 2 s
    const recovered = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });

    expect(throttled).toMatchObject({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: `The broker could not obtain its own platform token from cognito for target ${e2e.endpoints.demo.target}; retry later.`,
      },
    });
    expect(throttled.headers.get('retry-after')).toBe('5');
    expect(paused.status).toBe(503);
    expect(calls.GetOpenIdTokenForDeveloperIdentity?.requests).toBe(1);
    expect(e2e.launched.output()).toMatch(
      /"sourceProblem":"Cognito answered TooManyRequestsException \(HTTP 400\)"/,
    );
    expect(refusedLogin.status).toBe(503);
    expect(e2e.launched.output()).toContain(
      '"sourceProblem":"Cognito refused: the identity pool does not accept the broker\'s login or identity"',
    );
    expect(recovered.status).toBe(200);
  });

  it('reports ready with the AWS source answering', async () => {
    const response = await fetch(`${e2e.endpoints.broker.url}/api/ready`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      targets: 2,
      sources: { aws: 'ok' },
      sharedCache: 'ok',
    });
  });

  it("serves an AWS caller whose signed GetCallerIdentity STS confirms, with a token from the broker's Cognito identity", async () => {
    await admin(e2e.endpoints.aws.stsEndpoint, 'POST', '/counters/reset');

    const answer = await exchange(e2e, {
      subject_token: await awsSubjectToken(e2e),
      audience: e2e.endpoints.demo.managedIdentityTarget,
      scope: e2e.endpoints.demo.scope,
    });
    const sts = (await admin(e2e.endpoints.aws.stsEndpoint, 'GET', '/counters')) as {
      counters: Record<string, number>;
    };

    expect(answer.status).toBe(200);
    const { payload } = await jwtVerify(
      answer.body.access_token as string,
      createRemoteJWKSet(new URL(e2e.endpoints.entra.jwksUrl)),
      {
        audience: 'https://vault.azure.net',
      },
    );
    expect(payload).toMatchObject({
      appid: e2e.endpoints.demo.managedIdentityClientId,
      tid: e2e.endpoints.entra.tenantId,
    });
    expect(sts.counters).toEqual({ GetCallerIdentity: 1 });
    expect(e2e.launched.output()).toContain(`"caller":"aws-iam:${e2e.endpoints.aws.callerRole.arn}"`);
  });

  it('serves a GCP caller from the same AWS-hosted broker', async () => {
    Object.assign(process.env, e2e.endpoints.callerEnvironment);
    const audience = e2e.endpoints.broker.audience;
    const idToken = await (await new GoogleAuth().getIdTokenClient(audience)).idTokenProvider.fetchIdToken(
      audience,
    );
    e2e.secrets.add(idToken);

    const answer = await exchange(e2e, {
      subject_token: idToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });

    expect(answer.status).toBe(200);
  });

  it('serves a caller presenting its Cognito identity, from the developer-authenticated flow', async () => {
    const { aws } = e2e.endpoints;
    const cognito = new CognitoIdentityClient({
      endpoint: aws.cognitoEndpoint,
      region: aws.region,
      credentials: aws.callerRole,
    });
    const { IdentityId, Token } = await cognito.send(
      new GetOpenIdTokenForDeveloperIdentityCommand({
        IdentityPoolId: aws.cognitoPool.id,
        Logins: { [aws.cognitoPool.developerProvider]: aws.cognitoPool.callerUserId },
        TokenDuration: 900,
      }),
    );
    e2e.secrets.add(Token as string);

    const answer = await exchange(e2e, {
      subject_token: Token as string,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });

    expect(IdentityId).toBe(aws.cognitoPool.callerIdentityId);
    expect(answer.status).toBe(200);
    expect(e2e.launched.output()).toContain(`"caller":"cognito:${aws.cognitoPool.callerIdentityId}"`);
  });

  it('refuses a role the policy does not name with 403', async () => {
    const answer = await exchange(e2e, {
      subject_token: await awsSubjectToken(e2e, { credentials: e2e.endpoints.aws.strangerRole }),
    });

    expect(answer).toMatchObject({
      status: 403,
      body: {
        error: 'access_denied',
        error_description: `The policy does not allow aws-iam:${e2e.endpoints.aws.strangerRole.arn} to obtain tokens for target ${e2e.endpoints.demo.target}.`,
      },
    });
  });

  it.each([
    [
      'bound to another broker',
      { brokerAudience: 'https://other-broker.example' },
      'its x-broker-audience names another broker',
    ],
    [
      'signed 10 minutes ago',
      { signingDate: new Date(Date.now() - 10 * 60_000) },
      'it was signed outside the time window STS accepts',
    ],
  ])('refuses a request %s before asking STS', async (_name, overrides, description) => {
    await admin(e2e.endpoints.aws.stsEndpoint, 'POST', '/counters/reset');

    const answer = await exchange(e2e, { subject_token: await awsSubjectToken(e2e, overrides) });
    const sts = (await admin(e2e.endpoints.aws.stsEndpoint, 'GET', '/counters')) as {
      counters: Record<string, number>;
    };

    expect(answer).toMatchObject(refused(description));
    expect(sts.counters).toEqual({});
  });

  it('answers STS refusing a wrong secret with 401 naming SignatureDoesNotMatch', async () => {
    const { callerRole } = e2e.endpoints.aws;
    const forged = { ...callerRole, secretAccessKey: `${callerRole.secretAccessKey.slice(0, -4)}AAAA` };

    const answer = await exchange(e2e, {
      subject_token: await awsSubjectToken(e2e, { credentials: forged }),
    });

    expect(answer).toMatchObject({
      status: 401,
      body: {
        error: 'invalid_grant',
        error_description: 'AWS STS refused the signed request (SignatureDoesNotMatch).',
      },
    });
  });

  it('sends nothing to an STS URL outside the allow-list, and follows no redirect from STS', async () => {
    const outside = await exchange(e2e, {
      subject_token: await awsSubjectToken(e2e, { stsEndpoint: tripwire.httpsUrl }),
    });
    await admin(e2e.endpoints.aws.stsEndpoint, 'POST', '/faults', {
      status: 302,
      redirectTo: `${tripwire.httpsUrl}/`,
      count: 1,
    });
    const redirected = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });

    expect(outside).toMatchObject(refused('its url is not an STS endpoint this broker uses'));
    expect(redirected).toMatchObject({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'AWS STS answered with a redirect, which the broker does not follow; retry later.',
      },
    });
    expect(tripwire.connections()).toBe(0);
  });

  it('keeps every token, signed request, signature and AWS secret out of the logs', () => {
    expect(e2e.secrets.size).toBeGreaterThan(8);
    expect(leakedSecrets(e2e)).toEqual([]);
  });
});
