// The spiffe token source against the SPIRE agent stand-in over a Unix socket (issue 9): the broker's
// RS256 JWT-SVID for Entra's audience; an ES256 one (SPIRE's default) refused with the SPIRE setting to
// change; the agent down named as such; nothing of the SVID or the socket path in a failure.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpireAgent, startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import { createSpiffeSource } from '../../../shared/sources/spiffe.js';
import { SourceError } from '../../../shared/sources/tokenSource.js';

const clock = { now: () => Date.now() };
let dir: string;
let rsa: SpireAgent;
let ec: SpireAgent;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'spiffe-source-'));
  rsa = await startSpireAgent({
    trustDomain: { name: 'broker.example', jwtKeyType: 'rsa-2048', jwtIssuer: 'https://oidc.broker.example' },
    workloads: [
      { socketPath: path.join(dir, 'rsa.sock'), spiffeIds: ['spiffe://broker.example/token-broker'] },
    ],
    admin: false,
  });
  ec = await startSpireAgent({
    trustDomain: { name: 'default.example' },
    workloads: [
      { socketPath: path.join(dir, 'ec.sock'), spiffeIds: ['spiffe://default.example/token-broker'] },
    ],
    admin: false,
  });
});
afterAll(async () => {
  await rsa?.close();
  await ec?.close();
  await rm(dir, { recursive: true, force: true });
});

const source = (agent: SpireAgent) =>
  createSpiffeSource({
    endpoint: agent.endpoints[0] as string,
    audience: 'api://AzureADTokenExchange',
    timeoutMs: 2000,
    clock,
  });

describe('spiffe source', () => {
  it("returns the broker's RS256 JWT-SVID with its issuer and SPIFFE ID, fetched once while fresh", async () => {
    const spiffe = source(rsa);

    const first = await spiffe.getAssertion();
    const again = await spiffe.getAssertion();

    expect(again).toBe(first);
    expect(first).toMatchObject({
      issuer: 'https://oidc.broker.example',
      subject: 'spiffe://broker.example/token-broker',
    });
    expect(first.expiresAtMs - Date.now()).toBeGreaterThan(4 * 60_000);
  });

  it('refuses an ES256 SVID, which Entra would refuse, naming the SPIRE setting to change', async () => {
    const error = await source(ec)
      .getAssertion()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).reason).toBe(
      `the broker's JWT-SVID is signed ES256, which Entra refuses; set jwt_key_type = "rsa-2048" on the SPIRE server`,
    );
  });

  it('names an agent that is down, without its socket path', async () => {
    await rsa.stop();
    const error = await source(rsa)
      .getAssertion()
      .catch((e: unknown) => e);
    await rsa.start();

    expect((error as SourceError).reason).toBe(
      'the SPIFFE Workload API is unavailable (is the agent running and its socket mounted?)',
    );
    expect((error as Error).message).not.toContain(dir);
  });
});
