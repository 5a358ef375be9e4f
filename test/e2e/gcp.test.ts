// End to end over real sockets (issue 4): the launcher runs the sandbox and the built broker in a
// child process; this process acts as the GCP workload with google-auth-library, unchanged.
import { readFile } from 'node:fs/promises';
import { GoogleAuth } from 'google-auth-library';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interrupt, type Launched, launch, whenUp } from '../../sandbox/lib/childLauncher.js';
import { trustCertificateAuthority } from '../../sandbox/lib/tls.js';
import type { SandboxEndpoints } from '../../sandbox/sandbox.js';

const EXCHANGE = {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
};

let launched: Launched;
let endpoints: SandboxEndpoints;
const seenTokens = new Set<string>();

async function callerIdToken(): Promise<string> {
  const client = await new GoogleAuth().getIdTokenClient(endpoints.broker.audience);
  const token = await client.idTokenProvider.fetchIdToken(endpoints.broker.audience);
  seenTokens.add(token);
  return token;
}

async function exchange(
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(endpoints.broker.tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ ...EXCHANGE, ...params }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (typeof body.access_token === 'string') seenTokens.add(body.access_token);
  return { status: response.status, body, headers: response.headers };
}

const entraAdmin = async (route: string, init?: RequestInit) =>
  fetch(`${endpoints.entra.adminUrl}${route}`, init);

beforeAll(async () => {
  launched = await launch();
  endpoints = await whenUp(launched);
  trustCertificateAuthority(await readFile(endpoints.caCertificate, 'utf8'));
  // This process is the demo caller's VM.
  Object.assign(process.env, endpoints.callerEnvironment);
});

afterAll(async () => {
  if (launched) await interrupt(launched);
});

describe('a GCP workload gets an Entra token through the broker', () => {
  it('reports ready: policy loaded and the broker VM metadata server answering', async () => {
    const response = await fetch(`${endpoints.broker.url}/api/ready`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      targets: 2,
      sources: { gcpMetadata: 'ok' },
      sharedCache: 'ok',
    });
  });

  it('exchanges a Google ID token for a Key Vault token that verifies against the Entra stand-in', async () => {
    await entraAdmin('/counters/reset', { method: 'POST' });

    const { status, body, headers } = await exchange({
      subject_token: await callerIdToken(),
      audience: endpoints.demo.target,
      scope: endpoints.demo.scope,
    });

    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('content-type')).toBe('application/json');
    expect(body).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      scope: endpoints.demo.scope,
    });
    expect(body.expires_in).toBeGreaterThan(3000);
    const keys = createRemoteJWKSet(new URL(endpoints.entra.jwksUrl));
    const { payload } = await jwtVerify(body.access_token as string, keys, {
      audience: 'https://vault.azure.net',
      issuer: `https://sts.windows.net/${endpoints.entra.tenantId}/`,
    });
    expect(payload).toMatchObject({
      appid: endpoints.demo.appId,
      tid: endpoints.entra.tenantId,
      idtyp: 'app',
      ver: '1.0',
    });
  });

  it('causes one exchange at Entra for many calls for the same target and scope', async () => {
    await entraAdmin('/counters/reset', { method: 'POST' });
    const token = await callerIdToken();

    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        exchange({
          subject_token: token,
          audience: endpoints.demo.target,
          scope: 'https://graph.microsoft.com/.default',
        }),
      ),
    );
    const counters = (await (await entraAdmin('/counters')).json()) as {
      tenants: Record<string, Record<string, { successes: number }>>;
    };

    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.body.access_token)).size).toBe(1);
    expect(counters.tenants[endpoints.entra.tenantId]?.[endpoints.demo.appId]?.successes).toBe(1);
  });

  it('answers 503 with Retry-After while Entra is down, keeps serving cached tokens, and recovers', async () => {
    const token = await callerIdToken();
    // Fill the cache for one target first, so this test does not lean on an earlier one.
    expect(
      (await exchange({ subject_token: token, audience: endpoints.demo.target, scope: endpoints.demo.scope }))
        .status,
    ).toBe(200);
    await entraAdmin('/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: endpoints.entra.tenantId, status: 503, retryAfterSeconds: 3 }),
    });

    const uncached = await exchange({ subject_token: token, audience: endpoints.demo.managedIdentityTarget });
    const cached = await exchange({
      subject_token: token,
      audience: endpoints.demo.target,
      scope: endpoints.demo.scope,
    });
    await entraAdmin('/faults', { method: 'DELETE' });
    const paused = await exchange({ subject_token: token, audience: endpoints.demo.managedIdentityTarget });
    const readyWhilePaused = await fetch(`${endpoints.broker.url}/api/ready`);
    const entraCalls = async () =>
      (
        (await (await entraAdmin('/counters')).json()) as {
          tenants: Record<string, Record<string, { successes: number; faults: number }>>;
        }
      ).tenants[endpoints.entra.tenantId]?.[endpoints.demo.managedIdentityClientId];
    const duringPause = await entraCalls();
    await new Promise((resolve) => setTimeout(resolve, 3100));
    const recovered = await exchange({
      subject_token: token,
      audience: endpoints.demo.managedIdentityTarget,
    });

    expect(uncached.status).toBe(503);
    expect(uncached.headers.get('retry-after')).toBe('3');
    expect(paused.status).toBe(503);
    expect(duringPause).toMatchObject({ successes: 0, faults: 1 });
    expect(uncached.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: `Entra is unavailable for target ${endpoints.demo.managedIdentityTarget}; retry later.`,
    });
    expect(cached.status).toBe(200);
    expect(recovered.status).toBe(200);
    // Readiness tells the truth about the open circuit, naming the target only in the log.
    expect(readyWhilePaused.status).toBe(503);
    expect(await readyWhilePaused.json()).toEqual({
      status: 'not_ready',
      problems: ['entra_unavailable'],
      sources: { gcpMetadata: 'ok' },
      sharedCache: 'ok',
    });
    expect(launched.output()).toContain(
      `"event":"entra.unavailable","targets":["${endpoints.demo.managedIdentityTarget}"]`,
    );
    expect((await fetch(`${endpoints.broker.url}/api/ready`)).status).toBe(200);
    expect(decodeJwt(recovered.body.access_token as string)).toMatchObject({
      appid: endpoints.demo.managedIdentityClientId,
    });
  });

  it('refuses a service account the policy does not name with 403', async () => {
    // Another VM's workload: the broker VM's own service account, asking with the right audience.
    const identity = `http://${endpoints.gcp.brokerVm.metadataHost}/computeMetadata/v1/instance/service-accounts/default/identity`;
    const response = await fetch(`${identity}?audience=${endpoints.broker.audience}`, {
      headers: { 'Metadata-Flavor': 'Google' },
    });
    const stranger = await response.text();
    seenTokens.add(stranger);

    const { status, body } = await exchange({
      subject_token: stranger,
      audience: endpoints.demo.target,
      scope: endpoints.demo.scope,
    });

    expect(status).toBe(403);
    expect(body).toEqual({
      error: 'access_denied',
      error_description: `The policy does not allow google:${endpoints.gcp.brokerVm.uniqueId}(${endpoints.gcp.brokerVm.serviceAccount}) to obtain tokens for target ${endpoints.demo.target}.`,
    });
  });

  it('lets an operator manage federated credentials through Graph at run time, and the broker follows', async () => {
    // The operator works on the caller VM: its Google identity is federated with the sandbox-operator app.
    const identity = `http://${endpoints.gcp.callerVm.metadataHost}/computeMetadata/v1/instance/service-accounts/default/identity`;
    const assertion = await (
      await fetch(`${identity}?audience=api://AzureADTokenExchange`, {
        headers: { 'Metadata-Flavor': 'Google' },
      })
    ).text();
    seenTokens.add(assertion);
    const tokenResponse = await fetch(
      `${endpoints.entra.authorityHost}/${endpoints.entra.tenantId}/oauth2/v2.0/token`,
      {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: endpoints.demo.operatorAppId,
          scope: 'https://graph.microsoft.com/.default',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      },
    );
    const graphToken = ((await tokenResponse.json()) as { access_token: string }).access_token;
    seenTokens.add(graphToken);
    const fics = `${endpoints.entra.graphUrl}/applications(appId='${endpoints.demo.appId}')/federatedIdentityCredentials`;
    const graph = (method: string, url: string, body?: unknown) =>
      fetch(url, {
        method,
        headers: { authorization: `Bearer ${graphToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const storage = () =>
      exchange({
        subject_token: callerToken,
        audience: endpoints.demo.target,
        scope: 'https://storage.azure.com/.default',
      });
    const callerToken = await callerIdToken();

    const listed = (await (await graph('GET', fics)).json()) as {
      value: Array<{ id: string; name: string; issuer: string; subject: string; audiences: string[] }>;
    };
    const brokerFic = listed.value.find((fic) => fic.name === 'gcp-token-broker');
    const deleted = await graph('DELETE', `${fics}/${brokerFic?.id}`);
    const refused = await storage();
    const restored = await graph('POST', fics, {
      name: 'gcp-token-broker',
      issuer: brokerFic?.issuer,
      subject: brokerFic?.subject,
      audiences: brokerFic?.audiences,
    });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the broker's first backoff after a refusal is at most 1 s
    const recovered = await storage();

    expect(tokenResponse.status).toBe(200);
    expect(brokerFic).toMatchObject({
      issuer: 'https://accounts.google.com',
      subject: endpoints.gcp.brokerVm.uniqueId,
      audiences: ['api://AzureADTokenExchange'],
    });
    expect(deleted.status).toBe(204);
    expect(refused).toMatchObject({
      status: 502,
      body: {
        error: 'temporarily_unavailable',
        error_description: expect.stringMatching(
          new RegExp(
            `^Entra refused the broker's federated credential for target ${endpoints.demo.target} \\(AADSTS70021\\d\\): no federated credential on the target's application matches the broker's identity and audience 'api://AzureADTokenExchange'; the broker's operator finds the identifiers in the audit log\\.$`,
          ),
        ),
      },
    });
    expect(restored.status).toBe(201);
    expect(recovered.status).toBe(200);
    // The identifiers that fix it are in the operator's audit line, not in the caller's answer.
    const auditLine = launched
      .output()
      .split('\n')
      .map((line) => /\{"event":"token\.decision".*\}/.exec(line)?.[0])
      .filter((line): line is string => line !== undefined)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.status === 502);
    expect(auditLine).toMatchObject({
      outcome: 'failed',
      reason: 'entra_refused',
      aadsts: expect.any(Number),
      tenant: endpoints.entra.tenantId,
      clientId: endpoints.demo.appId,
      assertionIssuer: 'https://accounts.google.com',
      assertionSubject: endpoints.gcp.brokerVm.uniqueId,
    });
    expect(String(refused.body.error_description)).not.toContain(endpoints.demo.appId);
  });

  it('keeps every token and assertion out of the logs', () => {
    expect(seenTokens.size).toBeGreaterThan(3);
    for (const token of seenTokens) expect(launched.output()).not.toContain(token);
    // No JWT of any kind (the broker's own assertions included) appears in any log line.
    expect(launched.output()).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/);
    expect(launched.output()).toContain('"event":"token.decision"');
  });
});
