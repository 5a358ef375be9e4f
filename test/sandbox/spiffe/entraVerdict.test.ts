// What the Entra stand-in, under its default policy, decides about a broker's JWT-SVID presented as a
// federated client assertion (issue 9; protocols.md §D.3–D.4): from a SPIRE with `jwt_key_type =
// "rsa-2048"` (RS256) it is accepted; from a default SPIRE (EC keys, ES256) it is refused, which is why
// the broker's spiffe source refuses such an SVID itself, naming the SPIRE setting.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectorySeed } from '../../../sandbox/entra/model.js';
import { type RunningEntraStandIn, startEntraStandIn } from '../../../sandbox/entra/server.js';
import { freePorts } from '../../../sandbox/lib/childLauncher.js';
import {
  createCertificateAuthority,
  type PemPair,
  trustCertificateAuthority,
} from '../../../sandbox/lib/tls.js';
import { startSpireOidcProvider } from '../../../sandbox/spiffe/oidcDiscoveryProvider.js';
import { startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import type { JwtKeyType } from '../../../sandbox/spiffe/trustDomain.js';
import { connectWorkload } from './workloadClient.js';

const TENANT = '11111111-1111-4111-8111-111111111111';
const CALLER = {
  appId: 'a1a1a1a1-0000-4000-8000-000000000001',
  spId: 'a1a1a1a1-0000-4000-8000-0000000000f1',
};
const API = { appId: 'b2b2b2b2-0000-4000-8000-000000000002', uri: 'api://broker-api' };
const SEED: DirectorySeed = {
  tenants: [
    {
      id: TENANT,
      domains: ['contoso.onmicrosoft.com'],
      applications: [
        { appId: CALLER.appId, servicePrincipalId: CALLER.spId, displayName: 'spiffe-broker' },
        {
          appId: API.appId,
          displayName: 'broker-api',
          identifierUris: [API.uri],
          requestedAccessTokenVersion: 2,
          appRoleAssignments: { [CALLER.appId]: ['Things.Read'] },
        },
      ],
    },
  ],
};

let tls: PemPair;
let entra: RunningEntraStandIn;
let dir: string;
let cases = 0;

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  tls = await ca.issue(['localhost', '127.0.0.1']);
  entra = await startEntraStandIn({ tls, seed: SEED });
  dir = await mkdtemp(path.join(tmpdir(), 'spiffe-entra-'));
});
afterAll(async () => {
  await entra?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A SPIRE of `jwtKeyType` with its OIDC provider; its SVID for Entra's audience, presented at Entra. */
async function presentSvid(jwtKeyType: JwtKeyType) {
  cases += 1;
  const issuer = `https://spire-${cases}.example`;
  const id = `spiffe://td${cases}.example/token-broker`;
  const agent = await startSpireAgent({
    trustDomain: { name: `td${cases}.example`, jwtKeyType, jwtIssuer: issuer },
    workloads: [{ socketPath: path.join(dir, `${cases}.sock`), spiffeIds: [id] }],
    admin: false,
  });
  const [port] = (await freePorts(1)) as [number];
  const provider = await startSpireOidcProvider({
    trustDomain: agent.trustDomain,
    jwtIssuer: issuer,
    jwksUri: `https://127.0.0.1:${port}/keys`,
    setKeyUse: true,
    tls,
    port,
  });
  try {
    const client = await connectWorkload(agent.endpoints[0] as string);
    const [svid] = await client.fetchJwtSvid({ audience: ['api://AzureADTokenExchange'] });
    client.close();
    const app = entra.directory.findApplicationByAppId(CALLER.appId);
    const created = entra.directory.createFic(
      { kind: 'application', objectId: app?.id ?? '' },
      { name: `spiffe-${cases}`, issuer, subject: id, audiences: ['api://AzureADTokenExchange'] },
    );
    expect(created.ok).toBe(true);
    entra.admin.resolver.setDiscoveryOverride(issuer, provider.url);
    const response = await fetch(`${entra.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: CALLER.appId,
        scope: `${API.uri}/.default`,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: (svid as { svid: string }).svid,
      }),
    });
    const body = (await response.json()) as { error?: string; error_codes?: number[]; access_token?: string };
    const header = JSON.parse(
      Buffer.from((svid as { svid: string }).svid.split('.')[0] as string, 'base64url').toString(),
    );
    return { status: response.status, body, alg: header.alg as string };
  } finally {
    await provider.close();
    await agent.close();
  }
}

describe('Entra stand-in (default policy) judging a broker JWT-SVID as client_assertion', () => {
  it('ACCEPTS an RS256 SVID from a SPIRE with jwt_key_type rsa-2048', async () => {
    const result = await presentSvid('rsa-2048');

    expect(result.alg).toBe('RS256');
    expect(result.status).toBe(200);
    expect(typeof result.body.access_token).toBe('string');
  });

  it("REFUSES an ES256 SVID from a default SPIRE (ec-p256): 400 with Entra's algorithm refusal", async () => {
    const result = await presentSvid('ec-p256');

    expect(result.alg).toBe('ES256');
    expect({ status: result.status, error: result.body.error, codes: result.body.error_codes }).toEqual({
      status: 400,
      error: 'invalid_request',
      codes: [5002730],
    });
  });
});
