// The github caller path against every JWT attack of perf-reliability.md §2.5 (issue 9), with tokens the
// sandbox's GitHub issuer signs through its admin route.
import { describeJwtCallerPath, describeRefusal, publishAttackKeys } from './jwtAttacks.js';
import { issuerControl } from './kit.js';

describeJwtCallerPath(
  'github',
  async (sandbox) => {
    const { github, broker, demo } = sandbox.endpoints;
    const issuer = issuerControl(github.adminUrl);
    const [owner] = github.repository.split('/') as [string];
    const workflow = `${github.repository}/.github/workflows/deploy.yml@refs/heads/main`;
    return {
      jwksUrl: github.jwksUrl,
      profile: {
        name: 'github',
        issuer,
        algorithms: ['RS256'],
        nativeAlgorithm: 'RS256',
        skewSeconds: 60,
        maxLifetimeSeconds: 3600,
        audience: broker.audience,
        claims: (now) => ({
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
          workflow_ref: workflow,
          job_workflow_ref: workflow,
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
);
