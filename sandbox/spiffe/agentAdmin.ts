// The SPIRE agent stand-in's sandbox-only admin routes: rotate keys, kill and restart the sockets, mint SVIDs.
// No real SPIRE agent has them; they need no authentication, so the app is only ever bound to loopback.
import { type Context, Hono } from 'hono';
import { adminRoutes } from '../lib/issuerAdmin.js';
import type { IssuerAlgorithm } from '../lib/oidcIssuer.js';
import type { SpireTrustDomain } from './trustDomain.js';

/** What the admin routes act on. */
export interface AgentAdminTarget {
  trustDomains: readonly SpireTrustDomain[];
  rotate(
    trustDomain: string,
    options: { retirePrevious?: boolean },
  ): Promise<{ kid: string; retiredKid?: string }>;
  stop(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
}

const KEY_ALGORITHMS: readonly IssuerAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'];

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

async function rotateRequest(c: Context): Promise<{ trustDomain: string; retirePrevious: boolean } | string> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    return 'the body is not valid JSON';
  }
  if (!isJsonObject(body)) return 'the body must be a JSON object';
  const unknown = Object.keys(body).find((name) => name !== 'trustDomain' && name !== 'retirePrevious');
  if (unknown !== undefined) return `unknown field ${unknown}`;
  if (typeof body.trustDomain !== 'string') return 'trustDomain must be a JSON string';
  if (body.retirePrevious !== undefined && typeof body.retirePrevious !== 'boolean') {
    return 'retirePrevious must be a JSON boolean';
  }
  return { trustDomain: body.trustDomain, retirePrevious: body.retirePrevious === true };
}

/**
 * The admin app (sandbox only):
 * - `POST /admin/rotate` `{"trustDomain": "example.org", "retirePrevious"?: bool}` → 200 `{"kid", "retiredKid"?}`;
 *   bundle streams get the new complete set. Unknown trust domain → 404; a bad body → 400.
 * - `POST /admin/stop` → 200 `{"running": false}`: every workload socket is killed (in-flight calls and
 *   streams end, clients see UNAVAILABLE). `POST /admin/start` → 200 `{"running": true}`: bound again.
 * - `GET /admin/state` → `{"running", "trustDomains": [{"name", "id", "activeKid", "sequence", "jwks"}]}`.
 * - `POST /admin/trust-domains/<name>/mint` and `/keys`: the stand-in issuer's routes (sandbox/lib/issuerAdmin.ts);
 *   `GET /admin/trust-domains/<name>/jwks`: the trust domain's current JWK Set
 *   over that trust domain's keys: a correctly signed SVID with any header and claims; an odd extra key.
 * Every error is `{"error": "<what is wrong>"}`.
 */
export function agentAdminApp(target: AgentAdminTarget): Hono {
  const app = new Hono();
  app.post('/admin/rotate', async (c) => {
    const request = await rotateRequest(c);
    if (typeof request === 'string') return c.json({ error: request }, 400);
    if (!target.trustDomains.some((domain) => domain.name === request.trustDomain)) {
      return c.json({ error: `the agent holds no trust domain named ${request.trustDomain}` }, 404);
    }
    return c.json(await target.rotate(request.trustDomain, { retirePrevious: request.retirePrevious }));
  });
  app.post('/admin/stop', async (c) => {
    await target.stop();
    return c.json({ running: target.running() });
  });
  app.post('/admin/start', async (c) => {
    await target.start();
    return c.json({ running: target.running() });
  });
  app.get('/admin/state', (c) =>
    c.json({
      running: target.running(),
      trustDomains: target.trustDomains.map((domain) => ({
        name: domain.name,
        id: domain.id,
        activeKid: domain.activeKid,
        sequence: domain.sequence,
        jwks: domain.jwks(),
      })),
    }),
  );
  for (const domain of target.trustDomains) {
    // The trust domain's current JWK Set, as the bundle stream sends it (for tests that need a public key).
    app.get(`/admin/trust-domains/${domain.name}/jwks`, (c) => c.json(domain.jwks()));
    app.route(`/admin/trust-domains/${domain.name}`, adminRoutes(domain, KEY_ALGORITHMS));
  }
  return app;
}
