// Telemetry end to end (issue 10): the sandbox registers OpenTelemetry's SDK around the broker and writes
// what it exports to a file; a granted exchange, a refused one, one Entra refuses and a timer run give
// the counters, histograms and spans the README names, and no attribute anywhere carries a token, an
// assertion, or a caller's or the broker's subject or email.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { callerToken, exchangeAt, refreshOn } from './instanceKit.js';
import { useLaunchedSandbox } from './launchedSandbox.js';

const file = path.join(await mkdtemp(path.join(tmpdir(), 'telemetry-')), 'telemetry.jsonl');
const sandbox = useLaunchedSandbox({ SANDBOX_TELEMETRY_FILE: file });

type Point = { attributes: Record<string, unknown>; value: unknown };
type Line =
  | { type: 'span'; name: string; attributes: Record<string, unknown>; status: number }
  | { type: 'metrics'; metrics: Array<{ name: string; points: Point[] }> };

let lines: Line[] = [];

beforeAll(async () => {
  const { e, launched } = sandbox;
  Object.assign(process.env, e.callerEnvironment);
  const subject = await callerToken(sandbox);
  expect((await exchangeAt(sandbox, e.broker.url, subject)).status).toBe(200);
  expect((await exchangeAt(sandbox, e.broker.url, subject)).status).toBe(200);
  expect((await exchangeAt(sandbox, e.broker.url, `${subject.slice(0, -4)}AAAA`)).status).toBe(401);
  // Entra answers the next exchange for the managed identity with a 503.
  await fetch(`${e.entra.adminUrl}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      tenant: e.entra.tenantId,
      clientId: e.demo.managedIdentityClientId,
      status: 503,
      count: 1,
    }),
  });
  expect(
    (await exchangeAt(sandbox, e.broker.url, subject, { target: e.demo.managedIdentityTarget })).status,
  ).toBe(503);
  await refreshOn(e.broker.url, () => launched.output());
  // The metric reader exports every 200 ms.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
}, 60_000);

/** The last collection of a metric: cumulative, so it holds every point so far. */
function latest(name: string): Point[] {
  const collections = lines.flatMap((line) => (line.type === 'metrics' ? line.metrics : []));
  return collections.filter((metric) => metric.name === name).at(-1)?.points ?? [];
}

const sum = (points: Point[], match: Record<string, unknown>) =>
  points
    .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
    .reduce((total, point) => total + (typeof point.value === 'number' ? point.value : 0), 0);

describe('telemetry through @opentelemetry/api', () => {
  it('counts exchanges by outcome, status and reason, and where each token came from', () => {
    const exchanges = latest('broker.exchanges');
    expect(
      sum(exchanges, { outcome: 'granted', reason: 'rule_matched', 'http.response.status_code': 200 }),
    ).toBe(2);
    expect(sum(exchanges, { outcome: 'refused', 'http.response.status_code': 401 })).toBe(1);
    expect(sum(exchanges, { outcome: 'failed', 'http.response.status_code': 503 })).toBe(1);
    const lookups = latest('broker.token_cache.lookups');
    expect(sum(lookups, { tier: 'entra' })).toBe(1);
    expect(sum(lookups, { tier: 'local' })).toBe(1);
  });

  it("records Entra's latency and the request latency as histograms, and the timer's outcomes", () => {
    const entra = latest('broker.entra.duration');
    const count = (points: Point[], match: Record<string, unknown>) =>
      points
        .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
        .reduce((total, point) => total + ((point.value as { count?: number }).count ?? 0), 0);
    expect(count(entra, { outcome: 'issued' })).toBeGreaterThanOrEqual(1);
    expect(count(entra, { outcome: 'unavailable' })).toBe(1);
    expect(count(latest('broker.request.duration'), {})).toBe(4);
    expect(sum(latest('broker.refreshes'), { outcome: 'refreshed' })).toBeGreaterThanOrEqual(1);
  });

  it('spans each exchange and each Entra call, with outcome and target but no caller', () => {
    const spans = lines.filter((line) => line.type === 'span');
    const exchanges = spans.filter((span) => span.name === 'broker.exchange');
    expect(exchanges).toHaveLength(4);
    expect(exchanges.map((span) => span.attributes['broker.outcome']).sort()).toEqual([
      'failed',
      'granted',
      'granted',
      'refused',
    ]);
    expect(
      exchanges.find((span) => span.attributes['broker.cache'] === 'miss')?.attributes['broker.target'],
    ).toBe(sandbox.e.demo.target);
    const entra = spans.filter((span) => span.name === 'broker.entra_token');
    expect(entra.some((span) => span.attributes['broker.entra_failure'] === 'unavailable')).toBe(true);
  });

  it('puts no token, assertion, subject or email in any attribute', () => {
    const { e } = sandbox;
    const values = lines.flatMap((line) =>
      line.type === 'span'
        ? Object.values(line.attributes)
        : line.metrics.flatMap((metric) => metric.points.flatMap((point) => Object.values(point.attributes))),
    );
    expect(values.length).toBeGreaterThan(20);
    const forbidden = [
      ...sandbox.secrets,
      e.gcp.callerVm.uniqueId,
      e.gcp.callerVm.serviceAccount,
      e.gcp.brokerVm.uniqueId,
      e.gcp.brokerVm.serviceAccount,
    ];
    for (const value of values.map(String)) {
      expect(value).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
      for (const secret of forbidden) expect(value.includes(secret)).toBe(false);
    }
    expect(sandbox.leaked()).toEqual([]);
  });
});
