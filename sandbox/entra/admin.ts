// The stand-in's admin API (mounted under /admin; sandbox only, no auth): faults, counters, the decision
// log, signing-key rotation and the external JWKS cache. Paths and bodies are listed in ./README.md.
import { Hono } from 'hono';
import { mountFaultRoutes } from '../lib/faultTable.js';
import type { DecisionLog } from './decisionLog.js';
import type { ExternalKeyResolver } from './externalKeys.js';
import { type FaultInjector, faultSpecSchema } from './faults.js';
import type { EntraKeySet } from './signingKeys.js';

export interface AdminDeps {
  faults: FaultInjector;
  log: DecisionLog;
  keys: EntraKeySet;
  resolver: ExternalKeyResolver;
}

/** Admin routes, relative to their mount point. */
export function adminRoutes(deps: AdminDeps): Hono {
  const app = new Hono();

  mountFaultRoutes(app, faultSpecSchema, deps.faults);

  app.get('/counters', (c) => c.json({ tenants: deps.log.counters() }));
  app.post('/counters/reset', (c) => {
    deps.log.reset();
    return c.body(null, 204);
  });
  app.get('/decisions', (c) => {
    const limit = Number(c.req.query('limit') ?? '50');
    return c.json({ decisions: deps.log.last(Number.isInteger(limit) && limit >= 0 ? limit : 50) });
  });

  // Entra rolls its signing keys; the broker's validators must follow (§A.6 note on key rollover).
  app.post('/keys/rotate', async (c) => {
    const { retireOld } = ((await c.req.json().catch(() => ({}))) ?? {}) as { retireOld?: unknown };
    const key = await deps.keys.rotate();
    if (retireOld === true) deps.keys.retireOldKeys();
    return c.json({ kid: key.kid }, 201);
  });
  app.get('/discovery-overrides', (c) => c.json({ overrides: deps.resolver.discoveryOverrides() }));
  // Body `{ issuer, baseUrl }`; a null or absent baseUrl removes the override.
  app.put('/discovery-overrides', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as
      | { issuer?: unknown; baseUrl?: unknown }
      | undefined;
    const baseUrl = body?.baseUrl ?? undefined;
    if (typeof body?.issuer !== 'string' || (baseUrl !== undefined && typeof baseUrl !== 'string')) {
      return c.json(
        { error: 'invalid_override', issues: ['issuer must be a string, baseUrl a string or null'] },
        400,
      );
    }
    deps.resolver.setDiscoveryOverride(body.issuer, baseUrl);
    return c.json({ overrides: deps.resolver.discoveryOverrides() });
  });
  app.post('/jwks-cache/clear', (c) => {
    deps.resolver.clear();
    return c.body(null, 204);
  });

  return app;
}
