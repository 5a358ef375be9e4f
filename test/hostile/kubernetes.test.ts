// The kubernetes caller path against every JWT attack of perf-reliability.md §2.5 (issue 9), with tokens
// the sandbox cluster's issuer signs through its admin route.
import { beforeAll, describe } from 'vitest';
import {
  type AttackKit,
  createAttackKit,
  describeRefusal,
  JWT_ATTACK_CASES,
  publishAttackKeys,
  runJwtAttackCases,
  runOwnRefusals,
} from './jwtAttacks.js';
import { issuerControl, useSandboxAndTripwire } from './kit.js';

const running = useSandboxAndTripwire();
let attack: AttackKit;
const seen = new Set<string>();
const kit = () => ({ sandbox: running.sandbox, attack });

beforeAll(async () => {
  const { kubernetes, broker, demo } = running.sandbox.endpoints;
  const issuer = issuerControl(kubernetes.adminUrl);
  const profile = {
    name: 'kubernetes',
    issuer,
    algorithms: ['RS256', 'ES256'],
    nativeAlgorithm: 'RS256' as const,
    skewSeconds: 60,
    maxLifetimeSeconds: 86_400,
    audience: broker.audience,
    claims: (now: number) => ({
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
  };
  attack = createAttackKit(profile, running.tripwire, kubernetes.jwksUrl);
});

describe('the kubernetes caller path against perf-reliability.md §2.5 (#0–#63) and §4.2 B8', () => {
  runJwtAttackCases(JWT_ATTACK_CASES, kit, seen);
});

describe('the kubernetes caller path against its own hostile tokens', () => {
  runOwnRefusals(
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
    kit,
    seen,
  );
});
