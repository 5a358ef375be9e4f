// The aws-web-identity caller path against every JWT attack of perf-reliability.md §2.5 (issue 8), with
// tokens the demo account's web identity issuer (in the STS stand-in) signs through its admin route.
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
const seen = new Set<string>();

beforeAll(async () => {
  [sandbox, tripwire] = await Promise.all([startHostileSandbox(), startTripwire()]);
  const { aws, broker, demo } = sandbox.endpoints;
  const issuerId = new URL(aws.webIdentityIssuer).hostname.split('.')[0] as string;
  const base = `${aws.stsEndpoint}/web-identity/${issuerId}`;
  const issuer = issuerControl(`${base}/admin`);
  const account = aws.callerRole.arn.split(':')[4] as string;
  const profile: JwtCallerProfile = {
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
  };
  attack = createAttackKit(profile, tripwire, `${base}/.well-known/jwks.json`);
});

afterAll(async () => {
  await sandbox?.close();
  await tripwire?.close();
});

describe('the aws-web-identity caller path against perf-reliability.md §2.5 (#0–#63) and §4.2 B8', () => {
  runJwtAttackCases(JWT_ATTACK_CASES, () => ({ sandbox, attack }), seen);
});

describe('the aws-web-identity caller path against its own hostile tokens', () => {
  it.each([
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
  ])('refuses %s, validly signed', async (_name, overrides, description) => {
    const token = await attack.valid(overrides);
    seen.add(token);

    const answer = await sandbox.exchange({ subject_token: token, ...attack.profile.request });

    expectAnswer(answer, { status: 401, error: 'invalid_grant', description }, attack.profile, token);
  });

  it('contacted no URL planted in any token, and logged none of them', () => {
    expect(tripwire.connections()).toBe(0);
    for (const token of seen)
      if (token.length > 40) expect(sandbox.output()).not.toContain(token.trim().slice(0, 60));
  });
});
