// The aws-web-identity caller path against every JWT attack of perf-reliability.md §2.5 (issue 8), with
// tokens the demo account's web identity issuer (in the STS stand-in) signs through its admin route.
import { afterAll, beforeAll, describe } from 'vitest';
import {
  type AttackKit,
  createAttackKit,
  describeRefusal,
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
