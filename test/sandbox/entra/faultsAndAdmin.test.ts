// Fault injection on the token endpoint (latency, 429 with Retry-After as text or JSON, 5xx, outage windows,
// counts, per tenant and per client) and the admin API (counters, decisions, resets, discovery overrides).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  API_V2,
  CALLER,
  type EntraFixture,
  ISSUER,
  MI,
  OTHER_TENANT,
  startEntraFixture,
  TENANT,
} from './standInFixture.js';

describe('fault injection', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());
  afterEach(async () => {
    await fx.standIn.app.request('/admin/faults', { method: 'DELETE' });
  });

  const addFault = async (spec: Record<string, unknown>) => {
    const res = await fx.standIn.app.request('/admin/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    return { status: res.status, body: (await res.json()) as { fault?: { id: string }; issues?: string[] } };
  };
  const exchange = async (options?: { tenant?: string; clientId?: string }) =>
    fx.token(
      {
        client_assertion: await fx.assertion(options?.clientId === MI.clientId ? { sub: MI.subject } : {}),
        ...(options?.clientId ? { client_id: options.clientId } : {}),
        ...(options?.tenant === OTHER_TENANT.id ? { scope: 'https://graph.microsoft.com/.default' } : {}),
      },
      { tenant: options?.tenant },
    );

  it('adds latency and then processes the request normally', async () => {
    await addFault({ tenant: TENANT.id, latencyMs: 250 });
    const started = performance.now();
    const res = await exchange();

    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(res.status).toBe(200);
  });

  it('throttles with 429, Retry-After 60 and the plain-text body by default', async () => {
    await addFault({ tenant: TENANT.id, status: 429 });
    const res = await exchange();

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(res.text).toBe('Too Many Requests');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('throttles with an Entra JSON body and a chosen Retry-After when asked', async () => {
    await addFault({ tenant: TENANT.id, status: 429, retryAfterSeconds: 7, throttleBody: 'json' });
    const res = await exchange();

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.body).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90055] });
  });

  it.each([500, 503])('answers an outage with %i and an Entra JSON body', async (status) => {
    await addFault({ tenant: TENANT.domain, status });
    const res = await exchange();

    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90006] });
    expect(res.headers.get('retry-after')).toBeNull();
  });

  it('applies a fault to its count of requests only', async () => {
    await addFault({ tenant: TENANT.id, status: 503, count: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await exchange()).status);

    expect(statuses).toEqual([503, 503, 200]);
  });

  it('applies a fault inside its outage window only, on the injected clock', async () => {
    const at = (seconds: number) => new Date(fx.clock.now() + seconds * 1000).toISOString();
    await addFault({ tenant: TENANT.id, status: 503, from: at(60), until: at(120) });
    const before = (await exchange()).status;
    fx.clock.advance(60);
    const during = (await exchange()).status;
    fx.clock.advance(60);
    const after = (await exchange()).status;

    expect([before, during, after]).toEqual([200, 503, 200]);
  });

  it('applies a fault to its tenant and client only', async () => {
    await addFault({ tenant: OTHER_TENANT.id, status: 503 });
    await addFault({ tenant: TENANT.id, clientId: MI.clientId, status: 500 });

    expect((await exchange()).status).toBe(200);
    expect((await exchange({ clientId: MI.clientId })).status).toBe(500);
    expect((await exchange({ tenant: OTHER_TENANT.id })).status).toBe(503);
  });

  it('refuses an invalid fault with the reasons, and lists and removes faults', async () => {
    const invalid = await addFault({ tenant: TENANT.id });
    const unknownField = await addFault({ tenant: TENANT.id, status: 503, colour: 'red' });
    const { body } = await addFault({ tenant: TENANT.id, status: 503 });
    const listed = (await (await fx.standIn.app.request('/admin/faults')).json()) as { faults: unknown[] };
    const removed = await fx.standIn.app.request(`/admin/faults/${body.fault?.id}`, { method: 'DELETE' });

    expect(invalid.status).toBe(400);
    expect(invalid.body.issues?.join()).toContain('latencyMs, status, or both');
    expect(unknownField.status).toBe(400);
    expect(listed.faults).toHaveLength(1);
    expect(removed.status).toBe(204);
    expect((await exchange()).status).toBe(200);
  });
});

describe('counters and decisions', () => {
  let fx: EntraFixture;
  beforeAll(async () => {
    fx = await startEntraFixture();
  });
  afterAll(() => fx.close());

  it('counts successes, failures and faults per tenant and client, and resets', async () => {
    await fx.token({ client_assertion: await fx.assertion() });
    await fx.token({ client_assertion: await fx.assertion() });
    await fx.token({ client_assertion: await fx.assertion({ sub: 'nobody' }) });
    await fx.standIn.app.request('/admin/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: '*', status: 429, count: 1 }),
    });
    await fx.token({ client_assertion: await fx.assertion() });
    await fx.token({ client_assertion: await fx.assertion() }, { tenant: 'missing.onmicrosoft.com' });

    const counters = await (await fx.standIn.app.request('/admin/counters')).json();
    expect(counters).toEqual({
      tenants: {
        [TENANT.id]: { [CALLER.appId]: { successes: 2, failures: 1, faults: 1 } },
        'missing.onmicrosoft.com': { [CALLER.appId]: { successes: 0, failures: 1, faults: 0 } },
      },
    });

    const reset = await fx.standIn.app.request('/admin/counters/reset', { method: 'POST' });
    expect(reset.status).toBe(204);
    expect(await (await fx.standIn.app.request('/admin/counters')).json()).toEqual({ tenants: {} });
  });

  it('lists the last N decisions with their AADSTS codes', async () => {
    await fx.token({ client_assertion: await fx.assertion() });
    await fx.token({ client_assertion: await fx.assertion({ sub: 'nobody' }) });
    await fx.token({ client_assertion: await fx.assertion(), scope: 'api://nothing/.default' });

    const { decisions } = (await (await fx.standIn.app.request('/admin/decisions?limit=2')).json()) as {
      decisions: Array<Record<string, unknown>>;
    };
    expect(decisions).toHaveLength(2);
    expect(decisions[0]).toMatchObject({
      endpoint: 'v2',
      tenant: TENANT.id,
      clientId: CALLER.appId,
      outcome: 'refused',
      status: 401,
      code: 700213,
      error: 'invalid_client',
      target: `${API_V2.uri}/.default`,
      assertion: { iss: ISSUER, sub: 'nobody' },
    });
    expect(decisions[1]).toMatchObject({
      outcome: 'refused',
      code: 500011,
      target: 'api://nothing/.default',
    });
    expect(decisions[1]?.assertion).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it('sets and removes a discovery override through the admin API', async () => {
    const put = (body: unknown) =>
      fx.standIn.app.request('/admin/discovery-overrides', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    await put({ issuer: ISSUER, baseUrl: 'https://127.0.0.1:9' });
    const redirected = await fx.token({ client_assertion: await fx.assertion() });
    await put({ issuer: ISSUER, baseUrl: fx.issuer.server.url });
    const restored = await fx.token({ client_assertion: await fx.assertion() });
    const invalid = await put({ baseUrl: 'x' });

    expect(redirected.body.error_codes).toEqual([501661]);
    expect(restored.status).toBe(200);
    expect(invalid.status).toBe(400);
  });
});

describe('stand-in-wide throttle body', () => {
  it('uses the JSON body for every 429 when configured so', async () => {
    const fx = await startEntraFixture({ throttleBody: 'json' });
    try {
      fx.standIn.admin.faults.add({ tenant: TENANT.id, status: 429 });
      const res = await fx.token({ client_assertion: await fx.assertion() });

      expect(res.status).toBe(429);
      expect(res.body.error_codes).toEqual([90055]);
    } finally {
      await fx.close();
    }
  });
});
