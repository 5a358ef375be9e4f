// The github caller path against every JWT attack of perf-reliability.md §2.5 (issue 9), with tokens the
// sandbox's GitHub issuer signs through its admin route.
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
  const { github, broker, demo } = running.sandbox.endpoints;
  const issuer = issuerControl(github.adminUrl);
  const [owner] = github.repository.split('/') as [string];
  const profile = {
    name: 'github',
    issuer,
    algorithms: ['RS256'],
    nativeAlgorithm: 'RS256' as const,
    skewSeconds: 60,
    maxLifetimeSeconds: 3600,
    audience: broker.audience,
    claims: (now: number) => ({
      iss: 'https://token.actions.githubusercontent.com',
      aud: broker.audience,
      sub: `repo:${github.repository}:environment:${github.environment}`,
      iat: now,
      nbf: now - 300,
      exp: now + 300,
      repository: github.repository,
      repository_id: '4242002',
      repository_owner: owner,
      repository_owner_id: '4242001',
      ref: 'refs/heads/main',
      environment: github.environment,
      event_name: 'push',
      workflow_ref: `${github.repository}/.github/workflows/deploy.yml@refs/heads/main`,
      job_workflow_ref: `${github.repository}/.github/workflows/deploy.yml@refs/heads/main`,
    }),
    request: { audience: demo.target, scope: demo.scope },
    keys: await publishAttackKeys(issuer),
    describe: describeRefusal({
      audienceName: `this broker's audience (${broker.audience})`,
      maxLifetimeSeconds: 3600,
    }),
  };
  attack = createAttackKit(profile, running.tripwire, github.jwksUrl);
});

describe('the github caller path against perf-reliability.md §2.5 (#0–#63) and §4.2 B8', () => {
  runJwtAttackCases(JWT_ATTACK_CASES, kit, seen);
});

describe('the github caller path against its own hostile tokens', () => {
  runOwnRefusals(
    [
      [
        'no repository_id',
        { repository_id: undefined },
        "The subject token's 'repository_id' claim is missing or invalid.",
      ],
      [
        'a sub that is not a GitHub subject',
        { sub: 'admin' },
        "The subject token's 'sub' is not a GitHub Actions subject.",
      ],
    ],
    kit,
    seen,
  );
});
