// End to end with the broker "on Azure Functions": its own assertion is its user-assigned managed identity's
// Entra token from the app's identity endpoint (App Service style), presented to the demo app, which trusts
// it by a federated credential (issuer Entra's v2 issuer, subject the identity's principal id). A broker
// instance started with the sandbox's managed-identity policy serves the demo GCP caller; a wrong
// IDENTITY_HEADER is a 503 that names the source; the log canary covers the header and every token.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedInstance, launchInstance } from '../../sandbox/lib/childLauncher.js';
import { callerToken, exchangeAt, exchangesOf } from './instanceKit.js';
import { leaksIn, useLaunchedSandbox } from './launchedSandbox.js';

const sandbox = useLaunchedSandbox();
const started: LaunchedInstance[] = [];
const VAULT = 'https://vault.azure.net/.default';
let header: string;

async function start(settings: Record<string, string | null>): Promise<LaunchedInstance> {
  const instance = await launchInstance(sandbox.launched, settings);
  started.push(instance);
  return instance;
}

beforeAll(async () => {
  // This process is the demo caller's VM.
  Object.assign(process.env, sandbox.e.callerEnvironment);
  const settings = JSON.parse(await readFile(sandbox.e.broker.settingsFile, 'utf8')) as Record<
    string,
    string
  >;
  header = settings.IDENTITY_HEADER as string;
  sandbox.secrets.add(header);
});

afterAll(async () => {
  for (const instance of started) {
    if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGINT');
    await instance.exited;
  }
});

const requestsSeen = async () =>
  ((await (await fetch(`${sandbox.e.managedIdentity.adminUrl}/requests`)).json()) as { requests: number })
    .requests;

describe('a broker whose own assertion comes from its managed identity', () => {
  it("exchanges the identity's Entra token at Entra for the demo app, once, and reports the source ready", async () => {
    const { e } = sandbox;
    const instance = await start({ BROKER_POLICY_FILE: e.managedIdentity.policyFile });
    const token = await callerToken(sandbox);
    const exchangesBefore = await exchangesOf(sandbox, e.demo.appId);
    const requestsBefore = await requestsSeen();

    const first = await exchangeAt(sandbox, instance.url, token, {
      target: e.managedIdentity.target,
      scope: VAULT,
    });
    const second = await exchangeAt(sandbox, instance.url, token, {
      target: e.managedIdentity.target,
      scope: 'https://graph.microsoft.com/.default',
    });
    const ready = await fetch(`${instance.url}/api/ready`);
    const decisions = (await (await fetch(`${e.entra.adminUrl}/decisions?limit=5`)).json()) as {
      decisions: Array<{
        clientId: string;
        outcome: string;
        assertion?: { iss: string; sub: string; aud: unknown };
      }>;
    };

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(decodeJwt(first.body.access_token as string)).toMatchObject({
      appid: e.demo.appId, // Key Vault takes v1 tokens
      tid: e.entra.tenantId,
    });
    expect(await exchangesOf(sandbox, e.demo.appId)).toBe(exchangesBefore + 2);
    // One assertion served both scopes (the source's cache), and /api/ready reused it.
    expect((await requestsSeen()) - requestsBefore).toBe(1);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ sources: { gcpMetadata: 'ok', managedIdentity: 'ok' } });
    expect(
      decisions.decisions.filter((d) => d.clientId === e.demo.appId && d.outcome === 'issued').at(-1),
    ).toMatchObject({
      assertion: {
        iss: e.managedIdentity.credential.issuer,
        sub: e.managedIdentity.principalId,
        aud: e.managedIdentity.credential.audience,
      },
    });
    expect(e.managedIdentity.credential).toEqual({
      issuer: `https://login.microsoftonline.com/${e.entra.tenantId}/v2.0`,
      subject: e.managedIdentity.principalId,
      audience: 'api://AzureADTokenExchange',
    });
  });

  it('answers 503 naming the source when the endpoint refuses the header, and reports not ready', async () => {
    const { e } = sandbox;
    const instance = await start({
      BROKER_POLICY_FILE: e.managedIdentity.policyFile,
      IDENTITY_HEADER: 'a-header-the-platform-never-set',
      // No shared tier: it already holds the first instance's tokens for the target.
      TOKEN_CACHE_KEYS: null,
    });
    const token = await callerToken(sandbox);

    const refused = await exchangeAt(sandbox, instance.url, token, {
      target: e.managedIdentity.target,
      scope: VAULT,
    });
    const ready = await fetch(`${instance.url}/api/ready`);

    expect(refused).toMatchObject({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: `The broker could not obtain its own platform token from managedIdentity for target ${e.managedIdentity.target}; retry later.`,
      },
    });
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      problems: ['source_unavailable:managedIdentity'],
      sources: { managedIdentity: 'unavailable' },
    });
    expect(instance.output()).toContain(
      "the managed identity endpoint answered HTTP 401: is IDENTITY_HEADER the platform's own value?",
    );
    expect(instance.output()).not.toContain('a-header-the-platform-never-set');
  });

  it('keeps the header out of endpoints.json and every token and the header out of every log (canary)', async () => {
    const endpoints = await readFile(path.join(sandbox.launched.stateDir, 'endpoints.json'), 'utf8');
    const output = [sandbox.launched.output(), ...started.map((instance) => instance.output())].join('\n');

    expect(header.length).toBeGreaterThanOrEqual(32);
    expect(endpoints).not.toContain(header);
    expect(started.length).toBe(2);
    expect(leaksIn(output, sandbox.secrets)).toEqual([]);
  });
});
