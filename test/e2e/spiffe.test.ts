// End to end with the broker's own assertion a JWT-SVID from its SPIRE agent (issue 9): a SPIFFE
// workload (an ES256 JWT-SVID fetched over gRPC), a pod and a GitHub job each get an Entra token, with
// one Entra exchange; the agent dying and coming back; key rotation from the bundle stream; log canary.
import { readFile } from 'node:fs/promises';
import { GoogleAuth } from 'google-auth-library';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Launched } from '../../sandbox/lib/childLauncher.js';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';
import { createAwsSubjectToken } from '../../shared/client/awsSubjectToken.js';
import { connectWorkload } from '../sandbox/spiffe/workloadClient.js';
import { useLaunchedSandbox } from './launchedSandbox.js';

const sandbox = useLaunchedSandbox({ SANDBOX_BROKER_ON: 'spiffe' });
const exchange = (token: string) => sandbox.exchange(token);
const { secrets, leaked } = sandbox;
let launched: Launched;
let e: SandboxEndpoints;

beforeAll(() => {
  ({ launched, e } = sandbox);
});

/** What a SPIFFE workload does: its JWT-SVID for the broker's audience from its agent's Workload API. */
async function workloadSvid(): Promise<string> {
  const client = await connectWorkload(e.spiffe.callerSocket);
  try {
    const [svid] = await client.fetchJwtSvid({ audience: [e.broker.audience] });
    return (svid as { svid: string }).svid;
  } finally {
    client.close();
  }
}

const admin = (base: string, route: string, body: unknown = {}) =>
  fetch(`${base}/admin/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const entraExchanges = async () => {
  const counters = (await (await fetch(`${e.entra.adminUrl}/counters`)).json()) as {
    tenants: Record<string, Record<string, { successes: number }>>;
  };
  return counters.tenants[e.entra.tenantId]?.[e.demo.appId]?.successes ?? 0;
};

describe('a broker whose own assertion is a JWT-SVID', () => {
  const podToken = async () => (await readFile(e.kubernetes.callerTokenFile, 'utf8')).trim();

  it('answers 503 with Retry-After and reports not ready while its agent is down, and recovers on its own', async () => {
    await fetch(`${e.entra.adminUrl}/counters/reset`, { method: 'POST' });
    await admin(e.spiffe.brokerAgentAdminUrl, 'stop');

    const down = await exchange(await podToken());
    const ready = await fetch(`${e.broker.url}/api/ready`);
    const readyBody = await ready.json();
    await admin(e.spiffe.brokerAgentAdminUrl, 'start');
    // The source paused after the failure; its first backoff is at most 1 s, then the agent answers again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = await fetch(`${e.broker.url}/api/ready`);
    const recovered = await exchange(await podToken());

    expect(down).toMatchObject({
      status: 503,
      retryAfter: '5',
      body: {
        error: 'temporarily_unavailable',
        error_description: `The broker could not obtain its own platform token from spiffe for target ${e.demo.target}; retry later.`,
      },
    });
    expect(ready.status).toBe(503);
    expect(readyBody).toEqual({
      status: 'not_ready',
      problems: ['source_unavailable:spiffe'],
      sources: { spiffe: 'unavailable' },
      sharedCache: 'ok',
    });
    expect(launched.output()).toContain(
      'the SPIFFE Workload API is unavailable (is the agent running and its socket mounted?)',
    );
    expect(after.status).toBe(200);
    expect(recovered.status).toBe(200);
  });

  it('serves a SPIFFE workload (ES256 SVID), a pod and a GitHub job, with one Entra exchange for the target', async () => {
    const svid = await workloadSvid();

    const workload = await exchange(svid);
    const pod = await exchange(await podToken());
    const jobToken = (await (
      await fetch(`${e.github.requestUrl}&audience=${encodeURIComponent(e.broker.audience)}`, {
        headers: { authorization: `Bearer ${e.github.requestToken}` },
      })
    ).json()) as { value: string };
    const job = await exchange(jobToken.value);

    expect(JSON.parse(Buffer.from(svid.split('.')[0] as string, 'base64url').toString())).toMatchObject({
      alg: 'ES256',
    });
    expect([workload.status, pod.status, job.status]).toEqual([200, 200, 200]);
    expect(await entraExchanges()).toBe(1);
    expect(launched.output()).toContain(`"caller":"spiffe:${e.spiffe.callerId}"`);
  });

  it('still serves the GCP and AWS callers', async () => {
    Object.assign(process.env, e.callerEnvironment);
    const audience = e.broker.audience;
    const google = await (await new GoogleAuth().getIdTokenClient(audience)).idTokenProvider.fetchIdToken(
      audience,
    );
    const signed = await createAwsSubjectToken({
      brokerAudience: audience,
      region: e.aws.region,
      stsEndpoint: e.aws.stsEndpoint,
      credentials: e.aws.callerRole,
    });
    secrets.add(signed);

    const gcp = await exchange(google);
    secrets.add(google);
    const aws = await fetch(e.broker.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
        subject_token: signed,
        audience: e.demo.target,
        scope: e.demo.scope,
      }),
    });

    expect(gcp.status).toBe(200);
    expect(aws.status).toBe(200);
    expect(await entraExchanges()).toBe(1);
  });

  it('accepts a workload key rotated in, and refuses SVIDs of a key rotated out, from the bundle stream without restart', async () => {
    const before = await workloadSvid();
    // Verified, then recalled: the verified-token cache has seen its key in the current bundle.
    expect((await exchange(before)).status).toBe(200);
    expect((await exchange(before)).status).toBe(200);
    await admin(e.spiffe.callerAgentAdminUrl, 'rotate', {
      trustDomain: e.spiffe.trustDomain,
      retirePrevious: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await workloadSvid();

    const old = await exchange(before);
    const fresh = await exchange(after);

    expect(old).toMatchObject({
      status: 401,
      body: { error: 'invalid_grant', error_description: 'The subject token is signed with an unknown key.' },
    });
    expect(fresh.status).toBe(200);
  });

  it('refuses an SVID of a trust domain it does not trust, without a fetch', async () => {
    const client = await connectWorkload(e.spiffe.brokerSocket);
    const [own] = await client.fetchJwtSvid({ audience: [e.broker.audience] });
    client.close();

    const answer = await exchange((own as { svid: string }).svid);

    expect(answer).toMatchObject({
      status: 401,
      body: {
        error: 'invalid_grant',
        error_description: "The subject token's issuer is not accepted by this broker.",
      },
    });
  });

  it('keeps every token and SVID out of the logs', () => {
    expect(secrets.size).toBeGreaterThan(3);
    expect(leaked()).toEqual([]);
  });
});
