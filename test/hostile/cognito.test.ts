// The cognito caller path against every JWT attack of perf-reliability.md §2.5 (issue 8), with tokens
// the Cognito stand-in's issuer signs through its admin route, and guests refused.
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
  const { aws, demo } = running.sandbox.endpoints;
  const issuer = issuerControl(`${aws.cognitoEndpoint}/admin`);
  const pool = aws.cognitoPool;
  const profile = {
    name: 'cognito',
    issuer,
    algorithms: ['RS256', 'RS384', 'RS512'],
    nativeAlgorithm: 'RS256' as const,
    skewSeconds: 60,
    maxLifetimeSeconds: 3600,
    audience: pool.id,
    claims: (now: number) => ({
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
  };
  attack = createAttackKit(profile, running.tripwire, `${aws.cognitoEndpoint}/.well-known/jwks_uri`);
});

describe('the cognito caller path against perf-reliability.md §2.5 (#0–#63) and §4.2 B8', () => {
  runJwtAttackCases(JWT_ATTACK_CASES, kit, seen);
});

describe('the cognito caller path against its own hostile tokens', () => {
  runOwnRefusals(
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
    kit,
    seen,
  );
});
