// End to end (issue 9): a Kubernetes pod with its projected token file and a GitHub Actions job with its
// OIDC token each get an Entra token through the broker; Entra sees one exchange for the target however
// many callers; a token for another audience, another cluster or a fork is refused; the log canary.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Launched } from '../../sandbox/lib/childLauncher.js';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';
import { issuerControl } from '../hostile/kit.js';
import { useLaunchedSandbox } from './launchedSandbox.js';

const sandbox = useLaunchedSandbox();
const exchange = (token: string) => sandbox.exchange(token);
const { secrets, leaked } = sandbox;
let launched: Launched;
let e: SandboxEndpoints;

beforeAll(() => {
  ({ launched, e } = sandbox);
});

/** What a workflow step does: GET the request URL with `&audience=`, bearer the request token. */
async function actionsToken(audience?: string): Promise<string> {
  const url = audience
    ? `${e.github.requestUrl}&audience=${encodeURIComponent(audience)}`
    : e.github.requestUrl;
  const response = await fetch(url, { headers: { authorization: `Bearer ${e.github.requestToken}` } });
  const { value } = (await response.json()) as { value: string };
  return value;
}

const entraExchanges = async () => {
  const counters = (await (await fetch(`${e.entra.adminUrl}/counters`)).json()) as {
    tenants: Record<string, Record<string, { successes: number }>>;
  };
  return counters.tenants[e.entra.tenantId]?.[e.demo.appId]?.successes ?? 0;
};

/** Fires the timer through the host's admin endpoint and returns its `tokens.refreshed` line. */
async function runRefresh(previousRuns: number): Promise<Record<string, unknown>> {
  const invoked = await fetch(`${e.broker.url}/admin/functions/refreshTokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: '' }),
  });
  expect(invoked.status).toBe(202);
  const lines = () => launched.output().match(/\{"event":"tokens\.refreshed".*\}/g) ?? [];
  const deadline = Date.now() + 10_000;
  while (lines().length <= previousRuns && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  return JSON.parse(lines()[previousRuns] ?? '{}') as Record<string, unknown>;
}

const exchangesOf = async (clientId: string) => {
  const counters = (await (await fetch(`${e.entra.adminUrl}/counters`)).json()) as {
    tenants: Record<string, Record<string, { successes: number }>>;
  };
  return counters.tenants[e.entra.tenantId]?.[clientId]?.successes ?? 0;
};

describe('the refreshTokens timer (issue 10)', () => {
  it('fetches the warm target before anyone asks, then leaves it alone while it is fresh', async () => {
    const warm = `${e.demo.managedIdentityTarget} ${e.demo.scope}`;

    const first = await runRefresh(0);
    const afterFirst = await exchangesOf(e.demo.managedIdentityClientId);
    const second = await runRefresh(1);

    // The demo app's published Graph token is refreshed (and written to Key Vault) beside the warm target.
    const published = `${e.keyVault.target} ${e.keyVault.scope}`;
    expect(first).toMatchObject({
      event: 'tokens.refreshed',
      refreshed: [published, warm],
      published: [published],
      failed: [],
    });
    expect(afterFirst).toBe(1);
    expect(second).toMatchObject({ refreshed: [], published: [], skipped: [published, warm], failed: [] });
    expect(await exchangesOf(e.demo.managedIdentityClientId)).toBe(1);
  });
});

describe('pods and CI jobs get Entra tokens through the broker', () => {
  it('serves a pod with its projected token and a GitHub job with its OIDC token, with one Entra exchange', async () => {
    await fetch(`${e.entra.adminUrl}/counters/reset`, { method: 'POST' });

    const pod = await exchange((await readFile(e.kubernetes.callerTokenFile, 'utf8')).trim());
    const job = await exchange(await actionsToken(e.broker.audience));
    const exchanges = await entraExchanges();

    expect(pod.status).toBe(200);
    expect(job.status).toBe(200);
    expect(job.body.access_token).toBe(pod.body.access_token);
    expect(exchanges).toBe(1);
    expect(launched.output()).toContain(
      `"caller":"kubernetes:system:serviceaccount:${e.kubernetes.namespace}:${e.kubernetes.serviceAccount}"`,
    );
    expect(launched.output()).toContain(
      `"caller":"github:repo:${e.github.repository}:environment:${e.github.environment}"`,
    );
  });

  it("refuses a GitHub token for GitHub's default audience", async () => {
    expect(await exchange(await actionsToken())).toMatchObject({
      status: 401,
      body: {
        error: 'invalid_grant',
        error_description: `The subject token's audience is not this broker's audience (${e.broker.audience}).`,
      },
    });
  });

  it('refuses a job of a fork where the policy names the base repository', async () => {
    const token = await actionsToken(e.broker.audience);
    const claims = JSON.parse(
      Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    const fork = await issuerControl(`${new URL(e.github.requestUrl).origin}/admin`).mint({
      claims: {
        ...claims,
        repository: 'mallory/payments',
        repository_id: '666',
        repository_owner: 'mallory',
        repository_owner_id: '667',
        sub: 'repo:mallory/payments:environment:prod',
      },
    });

    expect(await exchange(fork)).toMatchObject({
      status: 403,
      body: {
        error: 'access_denied',
        error_description: `The policy does not allow github:repo:mallory/payments:environment:prod to obtain tokens for target ${e.demo.target}.`,
      },
    });
  });

  it("refuses a service-account token of another cluster's issuer", async () => {
    const token = (await readFile(e.kubernetes.callerTokenFile, 'utf8')).trim();
    const claims = JSON.parse(
      Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    const other = { ...claims, iss: 'https://other-cluster.sandbox.example' };

    // Refused by its issuer before any signature check: no cluster's keys are fetched for it.
    const answer = await exchange(
      `${token.split('.')[0]}.${Buffer.from(JSON.stringify(other)).toString('base64url')}.${token.split('.')[2]}`,
    );

    expect(answer).toMatchObject({
      status: 401,
      body: {
        error: 'invalid_grant',
        error_description: "The subject token's issuer is not accepted by this broker.",
      },
    });
  });

  it('keeps every token out of the logs', () => {
    expect(secrets.size).toBeGreaterThan(3);
    expect(leaked()).toEqual([]);
  });
});
