// What the many-instance and Key Vault end-to-end files share: the demo caller's Google ID token, an
// exchange at any broker instance, Entra's exchange count for a client, and firing the refresh timer on
// an instance and reading its `tokens.refreshed` line.
import { GoogleAuth } from 'google-auth-library';
import { expect } from 'vitest';
import type { LaunchedSandbox } from './launchedSandbox.js';

/** The demo caller's Google ID token for the broker (call after the caller VM's environment is set). */
export async function callerToken(sandbox: LaunchedSandbox): Promise<string> {
  const { audience } = sandbox.e.broker;
  const token = await (await new GoogleAuth().getIdTokenClient(audience)).idTokenProvider.fetchIdToken(
    audience,
  );
  sandbox.secrets.add(token);
  return token;
}

/** A token exchange at the broker instance at `url`; tokens granted join the log canary's secrets. */
export async function exchangeAt(
  sandbox: LaunchedSandbox,
  url: string,
  subjectToken: string,
  { target = sandbox.e.demo.target, scope = sandbox.e.demo.scope } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/api/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: subjectToken,
      audience: target,
      scope,
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (typeof body.access_token === 'string') sandbox.secrets.add(body.access_token);
  return { status: response.status, body };
}

/** Tokens Entra's stand-in issued to `clientId` so far. */
export async function exchangesOf(sandbox: LaunchedSandbox, clientId: string): Promise<number> {
  const counters = (await (await fetch(`${sandbox.e.entra.adminUrl}/counters`)).json()) as {
    tenants: Record<string, Record<string, { successes: number }>>;
  };
  return counters.tenants[sandbox.e.entra.tenantId]?.[clientId]?.successes ?? 0;
}

/** Fires `refreshTokens` on the host at `url` and returns its next `tokens.refreshed` line from `output`. */
export async function refreshOn(url: string, output: () => string): Promise<Record<string, unknown>> {
  const lines = () => output().match(/\{"event":"tokens\.refreshed".*\}/g) ?? [];
  const before = lines().length;
  const invoked = await fetch(`${url}/admin/functions/refreshTokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: '' }),
  });
  expect(invoked.status).toBe(202);
  const deadline = Date.now() + 30_000;
  while (lines().length <= before && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  return JSON.parse(lines()[before] ?? '{}') as Record<string, unknown>;
}
