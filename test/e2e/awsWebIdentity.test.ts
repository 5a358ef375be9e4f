// End to end with the broker on AWS, its assertion from sts:GetWebIdentityToken through
// @aws-sdk/client-sts (issue 8): an AWS caller served, and a disabled outbound federation reported
// as the retryable 503 the contract gives, readiness false, and the fix in the log.
import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsE2e, admin, awsSubjectToken, exchange, launchOnAws, leakedSecrets, stop } from './awsKit.js';

let e2e: AwsE2e;

beforeAll(async () => {
  e2e = await launchOnAws('webIdentity');
});
afterAll(() => stop(e2e));

describe('a broker on AWS, its assertion from sts:GetWebIdentityToken', () => {
  it('answers 503 and reports not ready, naming the fix in the log, while outbound federation is disabled', async () => {
    const { stsEndpoint } = e2e.endpoints.aws;
    await admin(stsEndpoint, 'POST', '/faults', {
      action: 'GetWebIdentityToken',
      status: 403,
      code: 'OutboundWebIdentityFederationDisabledException',
      message: 'Outbound web identity federation is disabled for this account.',
    });

    const answer = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });
    const ready = await fetch(`${e2e.endpoints.broker.url}/api/ready`);
    await admin(stsEndpoint, 'DELETE', '/faults');

    expect(answer).toMatchObject({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: `The broker could not obtain its own platform token from awsWebIdentity for target ${e2e.endpoints.demo.target}; retry later.`,
      },
    });
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not_ready',
      problems: ['source_unavailable:aws'],
      sources: { aws: 'unavailable' },
      sharedCache: 'ok',
    });
    expect(e2e.launched.output()).toContain(
      "STS refused: outbound web identity federation is disabled in the broker's AWS account; enable it once with iam:EnableOutboundWebIdentityFederation",
    );
    // The readiness check ran while the source was paused after that failure: its log names the same reason.
    expect(e2e.launched.output()).toMatch(
      /\{"event":"source\.unavailable","source":"aws","reason":"STS refused: outbound web identity federation is disabled/,
    );
  });

  it("serves an AWS caller with a token from the broker role's web identity, once federation is enabled", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the source's first backoff is at most 1 s
    await admin(e2e.endpoints.aws.stsEndpoint, 'POST', '/counters/reset');

    const answer = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });
    const again = await exchange(e2e, { subject_token: await awsSubjectToken(e2e) });
    const sts = (await admin(e2e.endpoints.aws.stsEndpoint, 'GET', '/counters')) as {
      counters: Record<string, number>;
    };

    expect(answer.status).toBe(200);
    expect(again.body.access_token).toBe(answer.body.access_token);
    expect(sts.counters).toEqual({ GetCallerIdentity: 2, GetWebIdentityToken: 1 });
  });

  it('serves an AWS caller presenting its own web identity token, and refuses one for another audience', async () => {
    const { aws, broker } = e2e.endpoints;
    const sts = new STSClient({ endpoint: aws.stsEndpoint, region: aws.region, credentials: aws.callerRole });
    const tokenFor = async (audience: string, SigningAlgorithm: 'RS256' | 'ES384') => {
      const { WebIdentityToken } = await sts.send(
        new GetWebIdentityTokenCommand({ Audience: [audience], SigningAlgorithm, DurationSeconds: 300 }),
      );
      e2e.secrets.add(WebIdentityToken as string);
      return WebIdentityToken as string;
    };
    const jwt = { subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' };

    const granted = await exchange(e2e, { ...jwt, subject_token: await tokenFor(broker.audience, 'ES384') });
    const elsewhere = await exchange(e2e, {
      ...jwt,
      subject_token: await tokenFor('api://AzureADTokenExchange', 'RS256'),
    });

    expect(granted.status).toBe(200);
    expect(e2e.launched.output()).toContain(
      `"caller":"aws-web-identity:arn:aws:iam::${aws.callerRole.arn.split(':')[4]}:role/demo-caller"`,
    );
    expect(elsewhere).toMatchObject({
      status: 401,
      body: {
        error: 'invalid_grant',
        error_description: `The subject token's audience is not this broker's audience (${broker.audience}).`,
      },
    });
  });

  it('keeps every token, signed request, signature and AWS secret out of the logs', () => {
    expect(leakedSecrets(e2e)).toEqual([]);
  });
});
