// The kubernetes caller path against every JWT attack of perf-reliability.md §2.5 (issue 9), with tokens
// the sandbox cluster's issuer signs through its admin route.
import { describeJwtCallerPath, describeRefusal, publishAttackKeys } from './jwtAttacks.js';
import { issuerControl } from './kit.js';

describeJwtCallerPath(
  'kubernetes',
  async (sandbox) => {
    const { kubernetes, broker, demo } = sandbox.endpoints;
    const issuer = issuerControl(kubernetes.adminUrl);
    return {
      jwksUrl: kubernetes.jwksUrl,
      profile: {
        name: 'kubernetes',
        issuer,
        algorithms: ['RS256', 'ES256'],
        nativeAlgorithm: 'RS256',
        skewSeconds: 60,
        maxLifetimeSeconds: 86_400,
        audience: broker.audience,
        claims: (now) => ({
          aud: [broker.audience],
          exp: now + 3600,
          iat: now,
          iss: kubernetes.issuer,
          jti: `j-${now}`,
          'kubernetes.io': {
            namespace: kubernetes.namespace,
            serviceaccount: { name: kubernetes.serviceAccount, uid: 'u-1' },
          },
          nbf: now,
          sub: `system:serviceaccount:${kubernetes.namespace}:${kubernetes.serviceAccount}`,
        }),
        request: { audience: demo.target, scope: demo.scope },
        keys: await publishAttackKeys(issuer),
        describe: describeRefusal({
          audienceName: `this broker's audience (${broker.audience})`,
          maxLifetimeSeconds: 86_400,
        }),
      },
    };
  },
  [
    [
      'a sub that is not its service account',
      { sub: 'system:serviceaccount:kube-system:admin' },
      "The subject token's 'sub' is not its service account.",
    ],
    [
      'a legacy secret token shape',
      { 'kubernetes.io': undefined, 'kubernetes.io/serviceaccount/namespace': 'payments' },
      "The subject token's 'kubernetes.io' claims name no namespace and service account.",
    ],
  ],
);
