// What the Entra stand-in, under its default policy, decides about a broker's JWT-SVID presented as a
// federated client assertion (issue 9; protocols.md §D.3–D.4): from a SPIRE with `jwt_key_type =
// "rsa-2048"` (RS256) it is accepted; from a default SPIRE (EC keys, ES256) it is refused, which is why
// the broker's spiffe source refuses such an SVID itself, naming the SPIRE setting.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../../sandbox/lib/childLauncher.js';
import { startSpireOidcProvider } from '../../../sandbox/spiffe/oidcDiscoveryProvider.js';
import { startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import type { JwtKeyType } from '../../../sandbox/spiffe/trustDomain.js';
import { startVerdictEntra, type VerdictEntra } from '../entra/assertionVerdict.js';
import { connectWorkload } from './workloadClient.js';

let entra: VerdictEntra;
let dir: string;
let cases = 0;

beforeAll(async () => {
  entra = await startVerdictEntra('spiffe-broker');
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
    tls: entra.tls,
    port,
  });
  try {
    const client = await connectWorkload(agent.endpoints[0] as string);
    const [svid] = await client.fetchJwtSvid({ audience: ['api://AzureADTokenExchange'] });
    client.close();
    const { status, body } = await entra.present(
      {
        name: `spiffe-${cases}`,
        issuer,
        subject: id,
        audience: 'api://AzureADTokenExchange',
        discoveryUrl: provider.url,
      },
      (svid as { svid: string }).svid,
    );
    const header = JSON.parse(
      Buffer.from((svid as { svid: string }).svid.split('.')[0] as string, 'base64url').toString(),
    );
    return { status, body, alg: header.alg as string };
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
