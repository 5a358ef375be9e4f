// The cognito caller path against every JWT attack of perf-reliability.md §2.5 (issue 8), with tokens
// the Cognito stand-in's issuer signs through its admin route, and guests refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttackKit,
  createAttackKit,
  describeRefusal,
  expectAnswer,
  JWT_ATTACK_CASES,
  type JwtCallerProfile,
  publishAttackKeys,
  runJwtAttackCases,
} from './jwtAttacks.js';
import {
  type HostileSandbox,
  issuerControl,
  startHostileSandbox,
  startTripwire,
  type Tripwire,
} from './kit.js';

let sandbox: HostileSandbox;
let tripwire: Tripwire;
let attack: AttackKit;
let profile: JwtCallerProfile;
const seen = new Set<string>();

beforeAll(async () => {
  [sandbox, tripwire] = await Promise.all([startHostileSandbox(), startTripwire()]);
  const { aws, demo } = sandbox.endpoints;
  const issuer = issuerControl(`${aws.cognitoEndpoint}/admin`);
  const pool = aws.cognitoPool;
  profile = {
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
  };
  attack = createAttackKit(profile, tripwire, `${aws.cognitoEndpoint}/.well-known/jwks_uri`);
});

afterAll(async () => {
  await sandbox?.close();
  await tripwire?.close();
});

describe('the cognito caller path against perf-reliability.md §2.5 (#0–#63) and §4.2 B8', () => {
  runJwtAttackCases(JWT_ATTACK_CASES, () => ({ sandbox, attack }), seen);
});

describe('the cognito caller path against its own hostile tokens', () => {
  it.each([
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
  ])('refuses %s, validly signed', async (_name, overrides, description) => {
    const token = await attack.valid(overrides);
    seen.add(token);

    const answer = await sandbox.exchange({ subject_token: token, ...profile.request });

    expectAnswer(answer, { status: 401, error: 'invalid_grant', description }, profile, token);
  });

  it('contacted no URL planted in any token, and logged none of them', () => {
    expect(tripwire.connections()).toBe(0);
    for (const token of seen)
      if (token.length > 40) expect(sandbox.output()).not.toContain(token.trim().slice(0, 60));
  });
});
