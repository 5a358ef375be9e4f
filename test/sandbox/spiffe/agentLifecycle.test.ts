// SPIRE agent stand-in lifecycle: stop kills the sockets (UNAVAILABLE), start restores them, admin routes.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpireAgent, startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import { BROKER_ID, eventually, expectGrpcError, TRUST_DOMAIN } from './fixtures.js';
import { connectWorkload, readBundles, socketDirectory, type WorkloadClient } from './workloadClient.js';

describe('SPIRE agent stand-in: stop, start and admin routes', () => {
  let sockets: Awaited<ReturnType<typeof socketDirectory>>;
  let agent: SpireAgent;
  let client: WorkloadClient;
  let socketPath: string;
  const admin = (route: string, body?: unknown) =>
    fetch(`${agent.adminUrl}${route}`, {
      method: body === undefined && route === '/admin/state' ? 'GET' : 'POST',
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    sockets = await socketDirectory();
    socketPath = path.join(sockets.dir, 'nested', 'broker.sock');
    agent = await startSpireAgent({
      trustDomain: { name: TRUST_DOMAIN },
      workloads: [{ socketPath, spiffeIds: [BROKER_ID] }],
    });
    client = await connectWorkload(agent.endpoints[0] ?? '');
  });
  afterAll(async () => {
    client.close();
    await agent.close();
    await sockets.remove();
  });

  it('names each socket as SPIFFE_ENDPOINT_SOCKET would, creating its directory', () => {
    expect(agent.endpoints).toEqual([`unix://${socketPath}`]);
    expect(existsSync(socketPath)).toBe(true);
  });

  it('fails calls with UNAVAILABLE while stopped, ends open streams so, and serves the same client after start', async () => {
    const stream = readBundles(client.fetchJwtBundles());
    await stream.next();

    await agent.stop();
    const whileStopped = client.fetchJwtSvid({ audience: ['aud'] });

    await expectGrpcError(stream.next(), status.UNAVAILABLE, 'Connection dropped');
    await expect(whileStopped).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(agent.running).toBe(false);
    expect(existsSync(socketPath)).toBe(false);

    await agent.start();
    const [svid] = await eventually(() => client.fetchJwtSvid({ audience: ['aud'] }));
    expect(svid?.spiffe_id).toBe(BROKER_ID);
  });

  it('stops and starts through POST /admin/stop and /admin/start', async () => {
    const stopped = await admin('/admin/stop', {});
    expect(await stopped.json()).toEqual({ running: false });
    await expect(client.fetchJwtSvid({ audience: ['aud'] })).rejects.toMatchObject({
      code: status.UNAVAILABLE,
    });

    const started = await admin('/admin/start', {});
    expect(await started.json()).toEqual({ running: true });
    await expect(eventually(() => client.fetchJwtSvid({ audience: ['aud'] }))).resolves.toHaveLength(1);
  });

  it('mints through /admin/trust-domains/<name>/mint an SVID the agent itself validates', async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    const response = await admin(`/admin/trust-domains/${TRUST_DOMAIN}/mint`, {
      claims: { sub: BROKER_ID, aud: 'minted', exp, custom: 'yes' },
    });
    const { token } = (await response.json()) as { token: string };

    const result = await client.validateJwtSvid({ audience: 'minted', svid: token });

    expect(response.status).toBe(200);
    expect(result.spiffe_id).toBe(BROKER_ID);
  });

  it('reports its state, and refuses a bad rotate body or an unknown trust domain', async () => {
    const state = (await (await admin('/admin/state')).json()) as Record<string, unknown>;
    const bad = await admin('/admin/rotate', { trustDomain: TRUST_DOMAIN, retirePrevious: 'yes' });
    const unknown = await admin('/admin/rotate', { trustDomain: 'nowhere.example' });

    expect(state).toMatchObject({
      running: true,
      trustDomains: [
        { name: TRUST_DOMAIN, id: `spiffe://${TRUST_DOMAIN}`, activeKid: agent.trustDomain.activeKid },
      ],
    });
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'retirePrevious must be a JSON boolean' }]);
    expect(unknown.status).toBe(404);
  });

  it.each([
    [{ socketPath: 'relative.sock', spiffeIds: [] }, 'workloads[0].socketPath must be an absolute path'],
    [
      { socketPath: '/tmp/x.sock', spiffeIds: ['spiffe://other.example/x'] },
      'workloads[0].spiffeIds: spiffe://other.example/x is not in the trust domain example.org',
    ],
  ])('refuses the workload %j', async (workload, message) => {
    await expect(
      startSpireAgent({ trustDomain: { name: TRUST_DOMAIN }, workloads: [workload], admin: false }),
    ).rejects.toThrow(message);
  });
});
