// The cognito caller path against every JWT attack of perf-reliability.md §2.5 (issue 8), with tokens
// the Cognito stand-in's issuer signs through its admin route, and guests refused.
import { describeJwtCallerPath, describeRefusal, publishAttackKeys } from './jwtAttacks.js';
import { issuerControl } from './kit.js';

describeJwtCallerPath(
  'cognito',
  async (sandbox) => {
    const { aws, demo } = sandbox.endpoints;
    const issuer = issuerControl(`${aws.cognitoEndpoint}/admin`);
    const pool = aws.cognitoPool;
    return {
      jwksUrl: `${aws.cognitoEndpoint}/.well-known/jwks_uri`,
      profile: {
        name: 'cognito',
        issuer,
        algorithms: ['RS256', 'RS384', 'RS512'],
        nativeAlgorithm: 'RS256',
        skewSeconds: 60,
        maxLifetimeSeconds: 3600,
        audience: pool.id,
        claims: (now) => ({
          sub: pool.callerIdentityId,
          aud: pool.id,
          amr: [
            'authenticated',
            pool.developerProvider,
            `${pool.developerProvider}:${pool.id}:${pool.callerUserId}`,
          ],
          iss: 'https://cognito-identity.amazonaws.com',
          iat: now,
          exp: now + 900,
        }),
        request: { audience: demo.target, scope: demo.scope },
        keys: await publishAttackKeys(issuer),
        describe: describeRefusal({
          audienceName: 'an identity pool this broker trusts',
          maxLifetimeSeconds: 3600,
        }),
      },
    };
  },
  [
    [
      'a guest identity',
      { amr: ['unauthenticated'] },
      'The subject token belongs to an unauthenticated (guest) Cognito identity.',
    ],
    [
      'a sub that is no identity id',
      { sub: 'admin' },
      "The subject token's 'sub' is not a Cognito identity id.",
    ],
  ],
);
