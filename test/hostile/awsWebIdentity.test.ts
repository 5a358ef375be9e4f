// The aws-web-identity caller path against every JWT attack of perf-reliability.md §2.5 (issue 8), with
// tokens the demo account's web identity issuer (in the STS stand-in) signs through its admin route.
import { describeJwtCallerPath, describeRefusal, publishAttackKeys } from './jwtAttacks.js';
import { issuerControl } from './kit.js';

describeJwtCallerPath(
  'aws-web-identity',
  async (sandbox) => {
    const { aws, broker, demo } = sandbox.endpoints;
    const issuerId = new URL(aws.webIdentityIssuer).hostname.split('.')[0] as string;
    const base = `${aws.stsEndpoint}/web-identity/${issuerId}`;
    const issuer = issuerControl(`${base}/admin`);
    const account = aws.callerRole.arn.split(':')[4] as string;
    return {
      jwksUrl: `${base}/.well-known/jwks.json`,
      profile: {
        name: 'aws-web-identity',
        issuer,
        algorithms: ['RS256', 'ES384'],
        nativeAlgorithm: 'RS256',
        skewSeconds: 60,
        maxLifetimeSeconds: 3600,
        audience: broker.audience,
        claims: (now) => ({
          iss: aws.webIdentityIssuer,
          aud: broker.audience,
          sub: `arn:aws:iam::${account}:role/demo-caller`,
          iat: now,
          exp: now + 3600,
          jti: `j-${now}`,
          'https://sts.amazonaws.com/': { aws_account: account, source_region: aws.region },
        }),
        request: { audience: demo.target, scope: demo.scope },
        keys: await publishAttackKeys(issuer),
        describe: describeRefusal({
          audienceName: `this broker's audience (${broker.audience})`,
          maxLifetimeSeconds: 3600,
        }),
      },
    };
  },
  [
    [
      "another account's issuer",
      { iss: 'https://0f0e0d0c-0b0a-4909-8807-060504030201.tokens.sts.global.api.aws' },
      "The subject token's issuer is not accepted by this broker.",
    ],
    [
      'the claims of another account',
      { 'https://sts.amazonaws.com/': { aws_account: '999988887777' } },
      "The subject token's account is not the account of its issuer.",
    ],
    [
      'a session ARN as subject',
      { sub: 'arn:aws:sts::111122223333:assumed-role/demo-caller/s' },
      "The subject token's 'sub' is not an IAM role or user ARN.",
    ],
  ],
);
