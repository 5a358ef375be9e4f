// FetchJWTBundles: the complete set of standard JWK Sets, sent again on every key change; SPIRE's refusals.
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpireAgent, startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import { BROKER_ID, expectGrpcError, TRUST_DOMAIN } from './fixtures.js';
import { connectWorkload, readBundles, socketDirectory, type WorkloadClient } from './workloadClient.js';

const OWN = `spiffe://${TRUST_DOMAIN}`;
const FEDERATED = 'spiffe://partner.example';

describe('SPIRE agent stand-in: FetchJWTBundles', () => {
  let sockets: Awaited<ReturnType<typeof socketDirectory>>;
  let agent: SpireAgent;
  let broker: WorkloadClient;
  let nobody: WorkloadClient;

  const kids = (jwks: { keys: Record<string, unknown>[] } | undefined) => jwks?.keys.map((key) => key.kid);

  beforeAll(async () => {
    sockets = await socketDirectory();
    agent = await startSpireAgent({
      trustDomain: { name: TRUST_DOMAIN },
      federatedTrustDomains: [{ name: 'partner.example', jwtKeyType: 'ec-p384' }],
      workloads: [
        { socketPath: path.join(sockets.dir, 'broker.sock'), spiffeIds: [BROKER_ID] },
        { socketPath: path.join(sockets.dir, 'nobody.sock'), spiffeIds: [] },
      ],
    });
    const [brokerSocket = '', nobodySocket = ''] = agent.endpoints;
    broker = await connectWorkload(brokerSocket);
    nobody = await connectWorkload(nobodySocket);
  });
  afterAll(async () => {
    broker.close();
    nobody.close();
    await agent.close();
    await sockets.remove();
  });

  it('first sends the complete set: own and federated trust domains, as standard JWK Sets', async () => {
    const stream = broker.fetchJwtBundles();
    const bundles = await readBundles(stream).next();
    stream.cancel();

    expect(Object.keys(bundles).sort()).toEqual([OWN, FEDERATED]);
    expect(bundles[OWN]).toEqual(agent.trustDomain.jwks());
    expect(kids(bundles[OWN])).toEqual([agent.trustDomain.activeKid]);
    expect(bundles[FEDERATED]?.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-384' });
    // SPIFFE_Workload_API.md §6.2.2 and SPIRE's StandardJWKS: no `use`, no spiffe_* members, no private part.
    for (const jwks of Object.values(bundles)) {
      expect(Object.keys(jwks)).toEqual(['keys']);
      for (const key of jwks.keys) expect(Object.keys(key).sort()).toEqual(['crv', 'kid', 'kty', 'x', 'y']);
    }
  });

  it('sends the complete set again after a rotation, and drops a retired kid', async () => {
    const stream = broker.fetchJwtBundles();
    const reader = readBundles(stream);
    const first = await reader.next();
    const oldKid = agent.trustDomain.activeKid;

    const { kid: newKid } = await agent.rotate(TRUST_DOMAIN);
    const afterRotate = await reader.next();
    const { kid: newestKid } = await agent.rotate(TRUST_DOMAIN, { retirePrevious: true });
    const afterRetire = await reader.next();
    stream.cancel();

    expect(kids(first[OWN])).toContain(oldKid);
    expect(kids(afterRotate[OWN])).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(Object.keys(afterRotate).sort()).toEqual([OWN, FEDERATED]);
    expect(kids(afterRetire[OWN])).toContain(newestKid);
    expect(kids(afterRetire[OWN])).not.toContain(newKid);
    expect(afterRetire[FEDERATED]).toEqual(first[FEDERATED]);
  });

  it('sends a new set when a federated trust domain rotates through the admin route', async () => {
    const stream = broker.fetchJwtBundles();
    const reader = readBundles(stream);
    const first = await reader.next();

    const response = await fetch(`${agent.adminUrl}/admin/rotate`, {
      method: 'POST',
      body: JSON.stringify({ trustDomain: 'partner.example', retirePrevious: true }),
    });
    const { kid, retiredKid } = (await response.json()) as { kid: string; retiredKid: string };
    const next = await reader.next();
    stream.cancel();

    expect(response.status).toBe(200);
    expect(kids(first[FEDERATED])).toEqual([retiredKid]);
    expect(kids(next[FEDERATED])).toEqual([kid]);
    expect(next[OWN]).toEqual(first[OWN]);
  });

  it('refuses a stream without the security header, and one for a workload with no identity', async () => {
    await expectGrpcError(
      readBundles(broker.fetchJwtBundles(false)).next(),
      status.INVALID_ARGUMENT,
      'security header missing from request',
    );
    await expectGrpcError(
      readBundles(nobody.fetchJwtBundles()).next(),
      status.PERMISSION_DENIED,
      'no identity issued',
    );
  });
});
